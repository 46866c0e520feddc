import { TidingsError, type WriteBatch } from '@tidings/core'

const refuse = (what: string) => {
  throw new TidingsError('input/invalid', `write(batch) refused: ${what}. Nothing was stored.`)
}

const isCount = (value: unknown) =>
  value === undefined || (typeof value === 'number' && Number.isFinite(value))

/**
 * Checks a batch before it joins a commit, so a malformed batch is refused alone and never
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
