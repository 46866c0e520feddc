import type * as Y from 'yjs'
import type { ClientContext } from './context.js'
import { laneDocName, metaDocName } from './lanes.js'
import type { ControlRecord } from './message.js'
import { jsonEqual, type PinRecord } from './pins.js'
import type { LocalChange, Replica } from './replica.js'
import type { Entry } from './view.js'

/** Collects changes per doc, so one commit writes each doc once. */
class Changes {
  readonly #byDoc = new Map<string, ((doc: Y.Doc) => void)[]>()

  add(doc: string, change: (doc: Y.Doc) => void): void {
    const list = this.#byDoc.get(doc) ?? []
    list.push(change)
    this.#byDoc.set(doc, list)
  }

  list(): LocalChange[] {
    return [...this.#byDoc].map(([doc, fns]) => ({
      doc,
      change: (d) => {
        for (const fn of fns) fn(d)
      },
    }))
  }
}

/** The snapshot this device writes when it pins a loaded message: its header and current body. */
export const snapshotOf = (entry: Entry): PinRecord => ({
  header: entry.header,
  body: entry.body,
  stamp: entry.revision?.stamp ?? entry.header.stamp,
})

/** Deletes every `<id>/…` key of a root map (pins of every pinner: unpinning is shared). */
const deleteAllOf = (map: Y.Map<unknown>, id: string): void => {
  for (const key of [...map.keys()]) if (key.slice(0, key.lastIndexOf('/')) === id) map.delete(key)
}

/**
 * Frees every copy of a deleted message's content that this device may remove. The author's
 * devices remove the lane record, the edit texts any of the author's devices left in control (an
 * edit that raced the delete included), the copies of edits in meta `pinEdits`, and every pin
 * snapshot in meta `pins`, whoever pinned. Other devices remove their own pin only.
 * @param tombstone written with the frees when this device is deleting the message now
 */
const addFrees = (
  changes: Changes,
  ctx: ClientContext,
  replica: Replica,
  entry: Entry,
  tombstone?: ControlRecord,
): void => {
  const { view } = replica
  const { id, header, period, periodMs } = entry
  const meta = metaDocName(replica.id)
  if (header.author !== ctx.user) {
    if (view.pins.get(id)?.has(ctx.device))
      changes.add(meta, (d) => d.getMap('pins').delete(`${id}/${ctx.device}`))
    return
  }
  const edits = [...view.authorRecords(id, ctx.user)].filter(([, r]) => !('deleted' in r)).map(([d]) => d)
  if (tombstone || edits.length > 0) {
    changes.add(laneDocName(replica.id, 'control', period, periodMs), (d) => {
      const c = d.getMap('c')
      for (const device of edits) c.delete(`${id}/${device}`)
      // Overwrites this device's own edit, if any: the tombstone keeps the key.
      if (tombstone) c.set(`${id}/${ctx.device}`, tombstone)
    })
  }
  if (view.storedRecord(id))
    changes.add(laneDocName(replica.id, header.priority, period, periodMs), (d) => d.getMap('m').delete(id))
  if (view.pins.has(id) || view.pinEdits.has(id)) {
    changes.add(meta, (d) => {
      deleteAllOf(d.getMap('pins'), id)
      // Only the author's own copies: the server refuses deleting another user's.
      const pinEdits = d.getMap('pinEdits')
      for (const device of view.pinEdits.get(id)?.keys() ?? [])
        if (view.members.get(device) === ctx.user) pinEdits.delete(`${id}/${device}`)
    })
  }
}

/** A delete: the tombstone, and every copy of the content freed in the same commit. */
export const deleteChanges = (
  ctx: ClientContext,
  replica: Replica,
  entry: Entry,
  tombstone: ControlRecord,
): LocalChange[] => {
  const changes = new Changes()
  addFrees(changes, ctx, replica, entry, tombstone)
  return changes.list()
}

/** Unpins a message for everyone: every pinner's snapshot goes. */
export const unpinChange = (replica: Replica, id: string): LocalChange => ({
  doc: metaDocName(replica.id),
  change: (d) => deleteAllOf(d.getMap('pins'), id),
})

/**
 * What this device does about messages whose records changed, so that concurrent pins, edits and
 * deletes converge: a deleted message's content is freed wherever it was copied (a pin or an edit
 * that raced the delete), the author's devices copy their edits of a pinned message into meta
 * (an edit made before the pin arrived) and drop those copies once it is unpinned. Pinners never
 * rewrite their snapshot: a server refuses a snapshot of a message deleted meanwhile, and a
 * refused write would stall this device's later writes to meta. Every step is idempotent: run
 * again on the same state, it changes nothing.
 */
export const upkeepChanges = (ctx: ClientContext, replica: Replica, ids: Iterable<string>): LocalChange[] => {
  const { view } = replica
  const meta = metaDocName(replica.id)
  const changes = new Changes()
  for (const id of ids) {
    const entry = view.timeline.get(id)
    if (entry?.revision?.deleted) {
      addFrees(changes, ctx, replica, entry)
      continue
    }
    const pins = view.pins.get(id)
    const copy = view.pinEdits.get(id)?.get(ctx.device)
    if (!pins) {
      if (copy) changes.add(meta, (d) => d.getMap('pinEdits').delete(`${id}/${ctx.device}`))
      continue
    }
    if (entry?.header.author !== ctx.user) continue
    const own = view.authorRecords(id, ctx.user).get(ctx.device)
    if (own && !('deleted' in own) && !jsonEqual(own, copy))
      changes.add(meta, (d) => d.getMap('pinEdits').set(`${id}/${ctx.device}`, own))
  }
  return changes.list()
}
