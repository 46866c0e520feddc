import { TidingsError } from './errors.js'
import type { WriteBatch } from './storage.js'
import { mergeUpdatesTree } from './updates.js'

const refuse = (what: string) => {
  throw new TidingsError('input/invalid', `write(batch) refused: ${what}. Nothing was stored.`)
}

const isCount = (value: unknown) =>
  value === undefined || (typeof value === 'number' && Number.isFinite(value))

/**
 * Checks a batch's shape (for adapters): throws `input/invalid` before it joins a commit, so a malformed batch is refused alone and never
 * aborts the writes grouped with it.
 */
export const checkBatch = (batch: WriteBatch): void => {
  if (typeof batch !== 'object' || batch === null) refuse('the batch is not an object')
  for (const u of batch.updates ?? []) {
    if (typeof u?.doc !== 'string') refuse('an update has no doc name')
    if (!(u.update instanceof Uint8Array)) refuse(`the update for ${u.doc} is not bytes`)
    if (!isCount(u.messages) || !isCount(u.newest))
      refuse(`messages and newest of ${u.doc} must be finite numbers`)
  }
  for (const [key, value] of Object.entries(batch.meta ?? {})) {
    if (value !== null && typeof value !== 'string') refuse(`meta ${key} is neither a string nor null`)
  }
  for (const e of batch.outbox ?? []) {
    if (typeof e?.key !== 'string' || typeof e.doc !== 'string' || typeof e.lane !== 'string')
      refuse('an outbox entry needs string key, doc and lane')
    if (!(e.update instanceof Uint8Array)) refuse(`outbox entry ${e.key} has no update bytes`)
    if (!Array.isArray(e.messages) || !e.messages.every((m) => typeof m === 'string'))
      refuse(`outbox entry ${e.key} needs a list of message ids`)
  }
  for (const key of batch.acked ?? []) if (typeof key !== 'string') refuse('an acked key is not a string')
}

/**
 * Copies what a batch holds (for adapters that commit later than `write` is called), so bytes the
 * caller changes before the commit are not what gets stored.
 */
export const copyBatch = (batch: WriteBatch): WriteBatch => ({
  updates: (batch.updates ?? []).map((u) => ({ ...u, update: u.update.slice() })),
  meta: { ...batch.meta },
  outbox: (batch.outbox ?? []).map((e) => ({ ...e, update: e.update.slice(), messages: [...e.messages] })),
  acked: [...(batch.acked ?? [])],
})

/** Checks the argument of `claimMeta` (for adapters): throws `input/invalid` unless every value is a string. */
export const checkClaims = (claims: Readonly<Record<string, string>>): void => {
  if (typeof claims !== 'object' || claims === null)
    throw new TidingsError('input/invalid', 'claimMeta(claims) needs an object of string values.')
  for (const [key, value] of Object.entries(claims)) {
    if (typeof value !== 'string')
      throw new TidingsError('input/invalid', `claimMeta refused: the value of ${key} is not a string.`)
  }
}

/**
 * Merges a doc's stored rows into one update for compaction; rows Yjs cannot merge are reported as
 * `storage/corrupt` naming the doc.
 */
export const mergeStoredRows = (doc: string, updates: readonly Uint8Array[]): Uint8Array => {
  try {
    return mergeUpdatesTree([...updates])
  } catch (cause) {
    throw new TidingsError('storage/corrupt', `The stored updates of ${doc} cannot be merged.`, {
      subject: doc,
      cause,
    })
  }
}

/** What a group-committing adapter's `write` does: check the batch, then queue a private copy. */
export const queueCheckedWrite = (
  writes: { push(batch: WriteBatch): Promise<void> },
  batch: WriteBatch,
): Promise<void> => {
  try {
    checkBatch(batch)
  } catch (error) {
    return Promise.reject(error)
  }
  return writes.push(copyBatch(batch))
}
