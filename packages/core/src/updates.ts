import { decodeStateVector, decodeUpdate, encodeStateVector, Item, isDeleted, mergeUpdates } from 'yjs'

/** True for an update that carries no structs and no deletions (`[0, 0]` in encoding V1). */
export const isEmptyUpdate = (update: Uint8Array): boolean =>
  update.length === 2 && update[0] === 0 && update[1] === 0

/** A new key set on a root map, as found in an update without loading the doc. */
export interface KeySet {
  readonly map: string
  readonly key: string
  readonly value: unknown
}

/**
 * Lists the root-map keys an update sets for the first time, with their values. Overwrites of a key
 * carry no parent info in Yjs encoding and are skipped, which is enough for message ids: they are
 * written once.
 */
export const readKeySets = (update: Uint8Array): KeySet[] => {
  const sets: KeySet[] = []
  const { structs, ds } = decodeUpdate(update)
  for (const struct of structs) {
    if (!(struct instanceof Item) || typeof struct.parent !== 'string' || struct.parentSub === null) continue
    // Overwritten or removed within this update: its value is stale (or already dropped by gc).
    if (isDeleted(ds, struct.id)) continue
    const values = struct.content.getContent()
    sets.push({ map: struct.parent, key: struct.parentSub, value: values[values.length - 1] })
  }
  return sets
}

/**
 * The state vector `stateVector` will have once `updates` are applied: each update's structs
 * extend a client's clock where they start at or before it. Used to leave out of a sync answer
 * what the outbox delivers anyway.
 */
export const extendStateVector = (stateVector: Uint8Array, updates: readonly Uint8Array[]): Uint8Array => {
  const clocks = decodeStateVector(stateVector)
  const ranges = updates
    .flatMap((update) => decodeUpdate(update).structs)
    .map((struct) => ({
      client: struct.id.client,
      from: struct.id.clock,
      to: struct.id.clock + struct.length,
    }))
    .sort((a, b) => a.from - b.from)
  for (const { client, from, to } of ranges) {
    const known = clocks.get(client) ?? 0
    if (from <= known && to > known) clocks.set(client, to)
  }
  return encodeStateVector(clocks)
}

/**
 * Merges many updates into one. Yjs `mergeUpdates` slows down far worse than linearly with the
 * number of updates in one call, so they are merged in groups of 32, then the results likewise:
 * every byte is merged once per level, O(n log n) in all.
 */
export const mergeUpdatesTree = (updates: readonly Uint8Array[]): Uint8Array => {
  let level = [...updates]
  if (level.length === 0) return new Uint8Array([0, 0])
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 32) next.push(mergeUpdates(level.slice(i, i + 32)))
    level = next
  }
  return level[0]!
}
