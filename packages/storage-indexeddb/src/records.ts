import type { Lane, OutboxEntry } from '@tidings/core'

/** The `docs` store: what listDocs needs, so it never reads an update. */
export interface DocRecord {
  /** Rows in `updates`. */
  readonly updates: number
  readonly messages: number
  readonly newest: number
  /** Row number the next update of the doc gets. */
  readonly next: number
}

/** The `outbox` store (key path `key`); `order` is an insertion counter, indexed. */
export interface OutboxRecord extends OutboxEntry {
  readonly order: number
}

/** A value moved aside because it had the wrong shape. */
export interface QuarantineRecord {
  readonly store: 'updates' | 'docs' | 'meta' | 'outbox'
  readonly doc?: string
  readonly key: IDBValidKey
  readonly value: unknown
  readonly reason: string
  readonly at: number
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)

/** The bytes of a stored value, or undefined when it is not a Uint8Array (from any realm). */
export const asBytes = (value: unknown): Uint8Array | undefined => {
  if (value instanceof Uint8Array) return value
  if (ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]')
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  return undefined
}

export const isDocRecord = (value: unknown): value is DocRecord => {
  const r = value as DocRecord | null | undefined
  return (
    typeof r === 'object' &&
    r !== null &&
    isCount(r.updates) &&
    isCount(r.messages) &&
    isCount(r.newest) &&
    isCount(r.next)
  )
}

/** The entry an outbox record holds, or why it cannot be one. */
export const readOutboxRecord = (value: unknown): OutboxEntry | string => {
  const r = value as Partial<OutboxRecord> | null | undefined
  if (typeof r !== 'object' || r === null) return 'not an object'
  if (typeof r.key !== 'string' || typeof r.doc !== 'string' || typeof r.lane !== 'string')
    return 'key, doc or lane is not a string'
  const update = asBytes(r.update)
  if (!update) return 'the update is not a Uint8Array'
  if (!Array.isArray(r.messages) || !r.messages.every((m) => typeof m === 'string'))
    return 'message ids are not a list of strings'
  return { key: r.key, doc: r.doc, lane: r.lane as Lane | 'meta', update, messages: r.messages }
}
