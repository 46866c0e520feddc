import { TidingsError, type WriteBatch } from '@tidings/core'

/** A batch that passed the checks, with copies of its bytes (only the viewed range of each buffer). */
export interface CheckedBatch {
  readonly updates: readonly { doc: string; update: Uint8Array; messages: number; newest: number }[]
  readonly meta: readonly [string, string | null][]
  readonly outbox: readonly {
    key: string
    doc: string
    lane: string
    update: Uint8Array
    messages: string[]
  }[]
  readonly acked: readonly string[]
}

const refuse = (what: string): never => {
  throw new TidingsError('input/invalid', `write(batch) refused: ${what}. Nothing was stored.`)
}

const isCount = (value: unknown) =>
  value === undefined || (typeof value === 'number' && Number.isFinite(value))

/** Checks and copies a batch before any transaction opens, so a refused batch changes nothing. */
export const checkBatch = (batch: WriteBatch): CheckedBatch => {
  if (typeof batch !== 'object' || batch === null) refuse('the batch is not an object')
  const updates = (batch.updates ?? []).map((u) => {
    if (typeof u?.doc !== 'string') refuse('an update has no doc name')
    if (!(u.update instanceof Uint8Array)) refuse(`the update for ${u.doc} is not bytes`)
    if (!isCount(u.messages) || !isCount(u.newest))
      refuse(`messages and newest of ${u.doc} must be finite numbers`)
    return { doc: u.doc, update: u.update.slice(), messages: u.messages ?? 0, newest: u.newest ?? 0 }
  })
  const meta = Object.entries(batch.meta ?? {}).map(([key, value]): [string, string | null] => {
    if (value !== null && typeof value !== 'string') refuse(`meta ${key} is neither a string nor null`)
    return [key, value]
  })
  const outbox = (batch.outbox ?? []).map((e) => {
    if (typeof e?.key !== 'string' || typeof e.doc !== 'string' || typeof e.lane !== 'string')
      refuse('an outbox entry needs string key, doc and lane')
    if (!(e.update instanceof Uint8Array)) refuse(`outbox entry ${e.key} has no update bytes`)
    if (!Array.isArray(e.messages) || !e.messages.every((m) => typeof m === 'string'))
      refuse(`outbox entry ${e.key} needs a list of message ids`)
    return { key: e.key, doc: e.doc, lane: e.lane, update: e.update.slice(), messages: [...e.messages] }
  })
  const acked = [...(batch.acked ?? [])]
  for (const key of acked) if (typeof key !== 'string') refuse('an acked key is not a string')
  return { updates, meta, outbox, acked }
}

/** Refuses a doc name, conversation id or meta key that is not a string. */
export const checkName = (name: unknown, what: string): void => {
  if (typeof name !== 'string') throw new TidingsError('input/invalid', `${what} must be a string.`)
}
