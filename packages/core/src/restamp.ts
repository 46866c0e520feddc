import type * as Y from 'yjs'
import type { ClientContext } from './context.js'
import { parseMessageId } from './ids.js'
import { docAt, laneDocName, periodOf, syncRank } from './lanes.js'
import { type ControlRecord, type MessageRecord, readControlRecord } from './message.js'
import { readReceiptRecord } from './receipts.js'
import type { LocalChange, Replica } from './replica.js'
import type { Entry } from './view.js'

/**
 * Re-stamps this device's unsent messages whose stamps lie beyond physical time + the drift bound
 * (written while the device's clock ran fast; a server refuses them with `clock/skew` for as long
 * as they stay so). Each keeps its id and body and moves to the period of its new stamp, with this
 * device's edit or tombstone of it; what the server never saw of the old period doc is dropped.
 * Unsent edits and tombstones of other messages stamped so are re-stamped in place. Call inside
 * `ctx.serial`, after the clock was corrected (a server's offset). Resolves true when it changed
 * something.
 * @remarks Messages of periods not loaded are left as they are.
 */
export const restampAhead = async (ctx: ClientContext, replica: Replica): Promise<boolean> => {
  const { clock } = ctx
  const ahead = aheadMessages(ctx, replica)
  const edits = aheadEdits(ctx, replica, new Set(ahead.map((e) => e.id)))
  const receipts = await restampReceipt(ctx, replica)
  if (ahead.length === 0 && edits.length === 0) return receipts
  // Every stamp a server accepted lies within the bound: stamps after it still follow all of them.
  clock.clamp()
  const changes: LocalChange[] = []
  for (const { doc, key, record } of edits) {
    const rewrite = (d: Y.Doc) => d.getMap('c').set(key, { ...record, stamp: clock.tick() })
    changes.push({ doc, change: rewrite, supersede: true })
  }
  for (const entry of ahead) {
    const oldLane = laneDocName(replica.id, entry.header.priority, entry.period, entry.periodMs)
    const stored = replica.docs.get(oldLane)?.getMap<MessageRecord>('m').get(entry.id)
    const deleted = entry.revision?.deleted === true
    if (!stored && !deleted) continue
    const replyTo = entry.header.replyTo
    const parent = replyTo ? replica.view.timeline.get(replyTo) : undefined
    const stamp = parent ? clock.after(parent.header.stamp) : clock.tick()
    // New docs take this device's current length, which may differ from the old doc's.
    const { periodMs } = replica
    const period = periodOf(stamp.wall, periodMs)
    const lane = laneDocName(replica.id, entry.header.priority, period, periodMs)
    const moved = lane !== oldLane
    const seq = parseMessageId(entry.id)!.seq
    if (!stored) {
      // Deleted before it was sent: only its tombstone, placed at the new stamp, is left to send.
      changes.push({ doc: oldLane, change: () => {}, supersede: true })
    } else {
      // The old copy goes first: the view knows a message by its id, whichever period holds it.
      if (moved)
        changes.push({ doc: oldLane, change: (d) => d.getMap('m').delete(entry.id), supersede: true })
      changes.push({
        doc: lane,
        change: (d) => d.getMap('m').set(entry.id, { ...stored, stamp }),
        messages: [{ id: entry.id, device: ctx.device, seq, wall: stamp.wall }],
        supersede: !moved,
      })
    }
    // This device's edit of the message goes with it, stamped after the message.
    const key = `${entry.id}/${ctx.device}`
    const oldControl = laneDocName(replica.id, 'control', entry.period, entry.periodMs)
    const edit = readControlRecord(replica.docs.get(oldControl)?.getMap('c').get(key))
    if (!edit) continue
    const value = 'deleted' in edit ? { ...edit, header: { ...edit.header, stamp } } : edit
    const rewrite = (d: Y.Doc) => d.getMap('c').set(key, { ...value, stamp: clock.tick() })
    if (!moved) changes.push({ doc: oldControl, change: rewrite, supersede: true })
    else {
      changes.push({ doc: oldControl, change: (d) => d.getMap('c').delete(key), supersede: true })
      changes.push({ doc: laneDocName(replica.id, 'control', period, periodMs), change: rewrite })
    }
  }
  const vacant = await replica.commit(changes)
  for (const doc of vacant) await replica.dropVacant(doc)
  return changes.length > 0
}

/**
 * This device's unsent messages of loaded periods stamped beyond the bound, by seq. One pass without
 * copies: it runs at every clock offset a link measures, with the whole backlog still unsent.
 */
const aheadMessages = (ctx: ClientContext, replica: Replica): Entry[] => {
  const limit = ctx.clock.physical() + ctx.clock.maxDrift
  const ahead: Entry[] = []
  for (const entry of ctx.outbox.entries(replica.id)) {
    for (const id of entry.messages) {
      const loaded = replica.view.timeline.get(id)
      if (loaded && loaded.header.stamp.wall > limit && loaded.header.device === ctx.device)
        ahead.push(loaded)
    }
  }
  return ahead.sort((a, b) => a.key.seq - b.key.seq)
}

/** This device's unsent control records stamped beyond the bound, of messages not re-stamped. */
const aheadEdits = (ctx: ClientContext, replica: Replica, moving: ReadonlySet<string>) => {
  const docs = new Set(ctx.outbox.lane(syncRank('control'), replica.id).map((e) => e.doc))
  const found: { doc: string; key: string; record: ControlRecord }[] = []
  const suffix = `/${ctx.device}`
  for (const doc of docs) {
    for (const [key, value] of replica.docs.get(doc)?.getMap('c') ?? []) {
      if (!key.endsWith(suffix) || moving.has(key.slice(0, -suffix.length))) continue
      const record = readControlRecord(value)
      if (record && ctx.clock.isAhead(record.stamp)) found.push({ doc, key, record })
    }
  }
  return found
}

/**
 * Re-publishes this device's receipt record when an unsent one is stamped beyond the bound (read
 * while the clock ran fast): with a corrected stamp, into the current receipts period. Records in
 * other (future) periods are deleted with their unsent entries, and such a doc the server never
 * saw is dropped: the new record holds everything they did, and nothing stays refused for good.
 */
const restampReceipt = async (ctx: ClientContext, replica: Replica): Promise<boolean> => {
  const docs = new Set(ctx.outbox.lane(syncRank('receipts'), replica.id).map((e) => e.doc))
  const ahead = [...docs].filter((doc) => {
    const record = readReceiptRecord(replica.docs.get(doc)?.getMap('r').get(ctx.device))
    return record !== undefined && ctx.clock.isAhead(record.at)
  })
  if (ahead.length === 0) return false
  ctx.clock.clamp()
  const current = docAt(replica.id, 'receipts', ctx.clock.physical(), replica.periodMs)
  const stale = ahead.filter((doc) => doc !== current)
  const changes: LocalChange[] = stale.map((doc) => ({
    doc,
    change: (d: Y.Doc) => d.getMap('r').delete(ctx.device),
    supersede: true,
  }))
  const vacant = await replica.commit(changes)
  for (const doc of vacant) await replica.dropVacant(doc)
  // The refused record was stamped after the new one: the view must take the new one all the same.
  replica.view.receipts.forget(ctx.device)
  await replica.publishReceipt(ahead.includes(current))
  return true
}
