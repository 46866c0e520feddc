import * as Y from 'yjs'
import type { HybridClock } from './hlc.js'
import { type DocRef, isMessageDoc } from './lanes.js'
import { readMessageRecord } from './message.js'
import { addTombstones, controlEntries } from './message-sets.js'
import type { RangeSet } from './range-set.js'
import { type HeldDocs, storedState, unheldPart } from './replica-sync.js'
import type { OutboxEntry } from './storage.js'
import { type KeySet, readKeySets, readStamps } from './updates.js'
import type { ConversationView } from './view.js'

/** The messages a remote update brings: their keys, how many, and the newest stamp's wall time. */
export interface RemoteMessages {
  readonly ids: string[]
  readonly messages: number
  readonly newest: number
}

/**
 * Reads what a remote update of `ref` brings: its messages go into `held`, and every stamp it
 * carries moves the clock, so this device stamps its next message or edit after them.
 */
export const takeRemote = (
  ref: DocRef,
  update: Uint8Array,
  sets: readonly KeySet[],
  view: ConversationView,
  clock: HybridClock,
  held: RangeSet,
): RemoteMessages => {
  const ids: string[] = []
  let newest = 0
  if (isMessageDoc(ref) && ref.kind !== 'control') {
    for (const { map, key, value } of sets) {
      const record = map === 'm' ? readMessageRecord(key, value) : undefined
      // A record the view refuses is no message: holding it would list it unread everywhere
      // and, under another's device, move that device's next seq (up to 2^53, past which
      // its ids no longer parse).
      if (!record || !view.authorMatches(record)) continue
      held.add(record.device, Number(key.slice(key.indexOf('.') + 1)))
      ids.push(key)
      newest = Math.max(newest, record.stamp.wall)
      clock.receive(record.stamp)
    }
  } else if (ref.kind === 'control' || ref.kind === 'meta') {
    // Edits are ordered by their stamps: a device must stamp its next edit after those it saw.
    for (const stamp of readStamps(update)) clock.receive(stamp)
  }
  return { ids, messages: ids.length, newest }
}

/**
 * The outbox entry of an imported update: the part of it this replica did not hold, under key
 * `key`, or none when it held all of it.
 */
export const importedEntry = async (
  held: HeldDocs,
  ref: DocRef,
  update: Uint8Array,
  ids: readonly string[],
  key: string,
): Promise<OutboxEntry | undefined> => {
  const fresh = await unheldPart(held, ref.name, update)
  if (!fresh) return undefined
  const freshIds = new Set(readKeySets(fresh).map((set) => set.key))
  return {
    key,
    doc: ref.name,
    lane: ref.kind === 'meta' ? 'meta' : ref.kind,
    update: fresh,
    // Its new messages stay `pending` (and in `pending()`) until a server acknowledges them: one
    // that already stores them acks at once; another device's unsent ones are refused. Messages
    // this device held already keep their status.
    messages: ids.filter((id) => freshIds.has(id)),
  }
}

/** The deleted set with the tombstones a control update brings, or undefined when none. */
export const deletedBy = async (
  held: HeldDocs,
  view: ConversationView,
  doc: string,
  update: Uint8Array,
  sets: readonly KeySet[],
): Promise<RangeSet | undefined> => {
  const loaded = held.docs.get(doc)
  const state = async () => (loaded ? Y.encodeStateAsUpdate(loaded) : await storedState(held.storage, doc))
  const deleted = view.receipts.deleted.clone()
  const entries = await controlEntries(update, sets, state)
  return addTombstones(entries, view.members, deleted) ? deleted : undefined
}
