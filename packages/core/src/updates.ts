import {
  ContentAny,
  type Doc,
  decodeStateVector,
  decodeUpdate,
  encodeStateAsUpdate,
  encodeStateVector,
  encodeStateVectorFromUpdate,
  Item,
  isDeleted,
  mergeUpdates,
} from 'yjs'
import { concatUpdates } from './concat-updates.js'
import { isStamp, type Stamp } from './hlc.js'

/** True for an update that carries no structs and no deletions (`[0, 0]` in encoding V1). */
export const isEmptyUpdate = (update: Uint8Array): boolean =>
  update.length === 2 && update[0] === 0 && update[1] === 0

/** A new key set on a root map, as found in an update without loading the doc. */
export interface KeySet {
  readonly map: string
  readonly key: string
  readonly value: unknown
}

/** Each keyed item of an update with the root map and key it was set under, as far as it can tell. */
const placeItems = (update: Uint8Array) => {
  const { structs, ds } = decodeUpdate(update)
  const items = structs.filter((s): s is Item => s instanceof Item)
  const places = new Map<Item, { map: string; key: string }>()
  const byClient = new Map<number, Item[]>()
  for (const item of items) {
    const list = byClient.get(item.id.client)
    if (list) list.push(item)
    else byClient.set(item.id.client, [item])
    if (typeof item.parent === 'string' && item.parentSub !== null)
      places.set(item, { map: item.parent, key: item.parentSub })
  }
  // Clients are encoded in no causal order: resolve origins until a pass places nothing new.
  for (let progress = true; progress; ) {
    progress = false
    for (const item of items) {
      if (places.has(item) || item.parent !== null || !item.origin) continue
      const { client, clock } = item.origin
      const left = byClient.get(client)?.find((s) => clock >= s.id.clock && clock < s.id.clock + s.length)
      const place = left && places.get(left)
      if (!place) continue
      places.set(item, place)
      progress = true
    }
  }
  return { items, places, ds }
}

/**
 * Lists the root-map keys an update sets, with their values. An overwrite carries no parent info
 * in Yjs encoding: it is placed through its left origin when that is in the same update (a message
 * re-stamped in place travels with the value it replaces), and skipped otherwise.
 * @param base What the receiver holds already (a doc's merged state): when given, overwrites are
 * placed through its items too, and only what `update` adds beyond `base` is listed, as a server
 * checks an update against its own copy.
 */
export const readKeySets = (update: Uint8Array, base?: Uint8Array): KeySet[] => {
  const { items, places, ds } = placeItems(base ? mergeUpdates([base, update]) : update)
  const known = base ? decodeStateVector(encodeStateVectorFromUpdate(base)) : undefined
  const sets: KeySet[] = []
  for (const item of items) {
    const place = places.get(item)
    // Overwritten or removed within this update: its value is stale (or already dropped by gc).
    if (!place || isDeleted(ds, item.id)) continue
    if (known && item.id.clock + item.length <= (known.get(item.id.client) ?? 0)) continue
    const values = item.content.getContent()
    sets.push({ ...place, value: values[values.length - 1] })
  }
  return sets
}

/**
 * Every root-map key an update ever set, removed ones included (a removed item keeps its key when
 * gc frees its content): what a doc held, for forgetting it when the doc is dropped.
 */
export const readKeysEverSet = (update: Uint8Array): { map: string; key: string }[] => [
  ...placeItems(update).places.values(),
]

/** Stamps of the JSON values an update writes (control records, pins), for the clock's receive rule. */
export const readStamps = (update: Uint8Array): Stamp[] => {
  const stamps: Stamp[] = []
  for (const struct of decodeUpdate(update).structs) {
    if (!(struct instanceof Item) || !(struct.content instanceof ContentAny)) continue
    for (const value of struct.content.arr) {
      const stamp = (value as { stamp?: unknown } | null)?.stamp
      if (isStamp(stamp)) stamps.push(stamp)
    }
  }
  return stamps
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
  // A session's own sends into one doc: their bytes one after the other (see concatUpdates).
  const concatenated = concatUpdates(updates)
  if (concatenated) return concatenated
  let level = [...updates]
  if (level.length === 0) return new Uint8Array([0, 0])
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 32) next.push(mergeUpdates(level.slice(i, i + 32)))
    level = next
  }
  return level[0]!
}

/**
 * Everything of `doc` from the first clock, per client, that `updates` carry: what the other side
 * lacks when it never got those updates. Deleted items travel as deleted content, so the result can
 * replace them when what they inserted is gone. Undefined when the other side has nothing of the
 * doc and the doc holds no live value: there is nothing worth sending.
 */
export const updateSince = (doc: Doc, updates: readonly Uint8Array[]): Uint8Array | undefined => {
  const vector = decodeStateVector(encodeStateVector(doc))
  for (const update of updates) {
    for (const struct of decodeUpdate(update).structs) {
      const known = vector.get(struct.id.client)
      if (known !== undefined && struct.id.clock < known) vector.set(struct.id.client, struct.id.clock)
    }
  }
  const theirsEmpty = [...vector.values()].every((clock) => clock === 0)
  const live = [...doc.share.values()].some((type) => [...type._map.values()].some((item) => !item.deleted))
  if (theirsEmpty && !live) return undefined
  return encodeStateAsUpdate(doc, encodeStateVector(vector))
}
