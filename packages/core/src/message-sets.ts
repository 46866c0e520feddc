import * as Y from 'yjs'
import { parseMessageId } from './ids.js'
import type { RangeSet } from './range-set.js'
import type { Members } from './receipts.js'
import { type KeySet, readKeysEverSet } from './updates.js'

/**
 * Adds every message that lane or control doc updates name to `into`: lane docs key messages by
 * id, control docs (edits and tombstones of the same period) by `<id>/<device>`. Used to forget
 * what retention drops. Keys removed since count too: a lane record freed by a delete names its
 * message even when the tombstone never reached this doc's period here (it arrived after
 * retention, or not yet).
 */
export const addMessagesNamed = (updates: readonly Uint8Array[], into: RangeSet): void => {
  for (const update of updates) {
    for (const { map, key } of readKeysEverSet(update)) {
      if (map !== 'm' && map !== 'c') continue
      const id = parseMessageId(map === 'c' ? key.slice(0, key.lastIndexOf('/')) : key)
      if (id) into.add(id.device, id.seq)
    }
  }
}

const isTombstone = (value: unknown) => (value as { deleted?: unknown } | null)?.deleted === true

/**
 * The entries of the `c` map a control update sets, enough to find its tombstones.
 * @remarks A tombstone that overwrites a record of the same key (an edit from the same device)
 * carries no key in the update, as Yjs encodes only its left neighbour: then the whole map is read
 * from the doc's `state` with the update applied. Overwriting edits need no such read.
 */
export const controlEntries = async (
  update: Uint8Array,
  sets: readonly KeySet[],
  state: () => Promise<Uint8Array>,
): Promise<KeySet[]> => {
  const keyless = (s: unknown) =>
    s instanceof Y.Item && s.parent === null && s.content.getContent().some(isTombstone)
  if (!Y.decodeUpdate(update).structs.some(keyless)) return sets.filter((set) => set.map === 'c')
  const doc = new Y.Doc()
  try {
    Y.applyUpdate(doc, Y.mergeUpdates([await state(), update]))
    return [...doc.getMap('c')].map(([key, value]) => ({ map: 'c', key, value }))
  } finally {
    doc.destroy()
  }
}

/**
 * Adds the messages that tombstones among control `entries` delete to `into`; returns whether it
 * changed. A tombstone counts when its writer belongs to the message's author, as in the view.
 */
export const addTombstones = (entries: readonly KeySet[], members: Members, into: RangeSet): boolean => {
  let changed = false
  for (const { key, value } of entries) {
    if (!isTombstone(value)) continue
    const slash = key.lastIndexOf('/')
    const id = parseMessageId(key.slice(0, slash))
    const writer = members.get(key.slice(slash + 1))
    if (id && writer !== undefined && writer === members.get(id.device))
      changed = into.add(id.device, id.seq) || changed
  }
  return changed
}
