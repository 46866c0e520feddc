import * as Y from 'yjs'
import type { DocSet } from './doc-set.js'
import type { OutboxEntry, StorageAdapter } from './storage.js'
import type { DocVector } from './transport.js'
import { extendStateVector, isEmptyUpdate, mergeUpdatesTree } from './updates.js'

/** The docs a replica holds: some loaded in memory, the rest only in storage. */
export interface HeldDocs {
  readonly names: readonly string[]
  readonly has: (doc: string) => boolean
  readonly docs: DocSet
  readonly storage: StorageAdapter
}

/** A stored doc's rows merged into one update, without loading the doc. */
export const storedState = async (storage: StorageAdapter, doc: string): Promise<Uint8Array> => {
  const rows = await storage.load(doc)
  return mergeUpdatesTree(rows.map((r) => r.update))
}

/** State vectors of every doc held, loaded or only stored. */
export const haveVectors = async (held: HeldDocs): Promise<DocVector[]> => {
  const vectors: DocVector[] = []
  for (const doc of held.names) {
    const loaded = held.docs.get(doc)
    const stateVector = loaded
      ? Y.encodeStateVector(loaded)
      : Y.encodeStateVectorFromUpdate(await storedState(held.storage, doc))
    vectors.push({ doc, stateVector })
  }
  return vectors
}

/**
 * What is held of a doc beyond `stateVector`, or undefined when nothing. `pending` are the doc's
 * outbox entries: they go up as their own per-send updates, so the answer leaves them out and the
 * same structs are never sent twice.
 */
export const answerFor = async (
  held: HeldDocs,
  doc: string,
  stateVector: Uint8Array,
  pending: readonly OutboxEntry[],
): Promise<Uint8Array | undefined> => {
  if (!held.has(doc)) return undefined
  const vector =
    pending.length > 0
      ? extendStateVector(
          stateVector,
          pending.map((e) => e.update),
        )
      : stateVector
  const loaded = held.docs.get(doc)
  const update = loaded
    ? Y.encodeStateAsUpdate(loaded, vector)
    : Y.diffUpdate(await storedState(held.storage, doc), vector)
  return isEmptyUpdate(update) ? undefined : update
}

/**
 * The part of `update` not held yet, or undefined when all of it is: an import of what a device
 * already has adds nothing to send, and must not make acknowledged messages pending again.
 */
export const unheldPart = async (
  held: HeldDocs,
  doc: string,
  update: Uint8Array,
): Promise<Uint8Array | undefined> => {
  if (!held.has(doc)) return update
  const loaded = held.docs.get(doc)
  const vector = loaded
    ? Y.encodeStateVector(loaded)
    : Y.encodeStateVectorFromUpdate(await storedState(held.storage, doc))
  const part = Y.diffUpdate(update, vector)
  return isEmptyUpdate(part) ? undefined : part
}
