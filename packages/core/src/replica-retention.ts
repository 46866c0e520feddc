import * as Y from 'yjs'
import type { Compactor } from './compaction.js'
import type { ClientContext } from './context.js'
import type { DocSet } from './doc-set.js'
import type { History } from './history.js'
import type { ConversationId } from './ids.js'
import { isMessageDoc, type PeriodRef, parseDocName, periodEnd, periodStart } from './lanes.js'
import { addMessagesNamed } from './message-sets.js'
import { RangeSet } from './range-set.js'
import type { Receipts } from './receipts.js'
import type { OutboxEntry, StorageAdapter } from './storage.js'
import type { ConversationView } from './view.js'

/** What retention reads and drops of a replica. */
export interface RetainedParts {
  readonly id: ConversationId
  readonly docs: DocSet
  readonly history: History
  readonly view: ConversationView
}

/** Whether retention dropped a doc: each by its own length, as devices may write periods of different lengths. */
export const isExpired = (ref: PeriodRef, view: ConversationView): boolean =>
  periodEnd(ref) <= view.retainedFrom

/**
 * Drops every doc wholly before `retainedFrom` (a receipts doc holding some device's newest record
 * stays); pending messages in them become `expired`. `receiptDue` is told when this device's
 * `held` or `deleted` set shrank.
 */
export const dropExpired = async (
  replica: RetainedParts,
  ctx: ClientContext,
  compactor: Compactor,
  receiptDue: () => void,
): Promise<void> => {
  const { id, docs, history, view } = replica
  const names = history.names().filter((name) => {
    const ref = parseDocName(name)!
    return ref.kind !== 'meta' && isExpired(ref, view) && !holdsNewestReceipt(docs, view.receipts, name)
  })
  // The messages of the docs about to go leave `held` and `deleted` first, stored before any doc
  // goes (a crash in between leaves docs that the next start drops, forgetting them again), so
  // unread counts and this device's receipt name only messages it still holds.
  const messageDocs = names.filter((name) => isMessageDoc(parseDocName(name)!))
  const gone = await messagesOf(messageDocs, docs, ctx.storage, ctx.report)
  if (await forgetMessages(view.receipts, gone, ctx.storage, id)) receiptDue()
  // Their unsent messages become `expired`: entries not read yet are read to name them.
  await ctx.outbox.read(names)
  const expired: OutboxEntry[] = []
  for (const name of names) {
    const ref = parseDocName(name)!
    const keys = ctx.outbox
      .entries(id)
      .filter((e) => e.doc === name)
      .map((e) => e.key)
    expired.push(...ctx.outbox.remove(keys))
    docs.unload(name)
    history.forget(name)
    compactor.forget(name)
    await ctx.storage.drop(name)
    if (isMessageDoc(ref)) view.detachPeriod(ref.period, ref.periodMs)
  }
  if (expired.some((entry) => entry.messages.length > 0)) {
    ctx.outbox.markExpired(expired)
    await ctx.storage.write({ meta: { expired: JSON.stringify(ctx.outbox.expired()) } })
  }
}

/** The messages (device → seqs) the given docs hold, loaded or only stored. */
export const messagesOf = async (
  names: readonly string[],
  docs: DocSet,
  storage: StorageAdapter,
  report: (error: unknown) => void,
): Promise<RangeSet> => {
  const gone = new RangeSet()
  for (const name of names) {
    const loaded = docs.get(name)
    try {
      const updates = loaded
        ? [Y.encodeStateAsUpdate(loaded)]
        : (await storage.load(name)).map((row) => row.update)
      addMessagesNamed(updates, gone)
    } catch (error) {
      report(error)
    }
  }
  return gone
}

/**
 * Takes `gone` out of the `held` and `deleted` sets, stored first, then in memory. Resolves true
 * when a set changed (the device's receipt is then due).
 */
export const forgetMessages = async (
  receipts: Receipts,
  gone: RangeSet,
  storage: StorageAdapter,
  conversation: string,
): Promise<boolean> => {
  const held = receipts.held.clone()
  const deleted = receipts.deleted.clone()
  const changed = [held.removeAll(gone), deleted.removeAll(gone)]
  if (!changed.includes(true)) return false
  await storage.write({
    meta: {
      [`held:${conversation}`]: JSON.stringify(held.toJSON()),
      [`deleted:${conversation}`]: JSON.stringify(deleted.toJSON()),
    },
  })
  receipts.held.removeAll(gone)
  receipts.deleted.removeAll(gone)
  return true
}

/** A receipts doc stays while it holds some device's newest record: statuses depend on it. */
export const holdsNewestReceipt = (docs: DocSet, receipts: Receipts, name: string): boolean => {
  if (parseDocName(name)?.kind !== 'receipts') return false
  const doc = docs.get(name)
  if (!doc) return false
  for (const [device, value] of doc.getMap<{ at: { wall: number; counter: number } }>('r')) {
    const newest = receipts.record(device)?.at
    if (newest && newest.wall === value.at?.wall && newest.counter === value.at?.counter) return true
  }
  return false
}

/** Is a loaded message doc, not dropped by retention, covering this wall time? */
export const holdsPeriodOf = (docs: DocSet, view: ConversationView, wall: number): boolean => {
  for (const name of docs.names()) {
    const ref = parseDocName(name)
    if (
      ref &&
      isMessageDoc(ref) &&
      !isExpired(ref, view) &&
      periodStart(ref) <= wall &&
      wall < periodEnd(ref)
    )
      return true
  }
  return false
}
