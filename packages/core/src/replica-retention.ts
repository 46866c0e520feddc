import * as Y from 'yjs'
import type { DocSet } from './doc-set.js'
import { parseDocName } from './lanes.js'
import { addMessagesNamed } from './message-sets.js'
import { RangeSet } from './range-set.js'
import type { Receipts } from './receipts.js'
import type { StorageAdapter } from './storage.js'

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
