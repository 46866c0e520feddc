import { TidingsError } from './errors.js'
import { compareStamps, isStamp, type Stamp } from './hlc.js'
import { type DeviceId, isDeviceId, type MessageId, parseMessageId } from './ids.js'
import { isPriority, type Priority } from './lanes.js'

/** Any JSON value: a message body is one. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** Where a message is on its way to the other members (see `Conversation.status`). */
export type MessageStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'expired'

/** A message as an app sees it: immutable, replaced by a new object when anything about it changes. */
export interface Message {
  readonly id: MessageId
  readonly author: string
  readonly device: DeviceId
  /** The body as last edited by its author; null once deleted. */
  readonly body: Json
  readonly priority: Priority
  /** Wall time of the message's clock stamp, in ms. */
  readonly sentAt: number
  readonly stamp: Stamp
  readonly replyTo?: MessageId
  readonly editedAt?: number
  readonly deleted: boolean
  readonly status: MessageStatus
}

/** The immutable value stored under the message id in a lane doc's `m` map. */
export interface MessageRecord {
  readonly author: string
  readonly device: DeviceId
  readonly stamp: Stamp
  readonly body: Json
  readonly priority: Priority
  readonly replyTo?: MessageId
}

/** The header of a message: everything but the body, kept in its tombstone so the gap stays placed. */
export type MessageHeader = Omit<MessageRecord, 'body'>

/** An edit or a tombstone, stored in `control/<period>` under `<messageId>/<deviceId>`. */
export type ControlRecord =
  | { readonly stamp: Stamp; readonly body: Json }
  | { readonly stamp: Stamp; readonly deleted: true; readonly header: MessageHeader }

/** Default limit on a body's JSON size. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024

const utf8 = new TextEncoder()

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/** Replaces each lone surrogate by U+FFFD, as UTF-8 encoding (and `String#toWellFormed`) does. */
const wellFormed = (text: string): string => text.replace(loneSurrogate, '\ufffd')

/** A JSON value with every string and key well-formed; a key made equal by this keeps the last value. */
const wellFormedJson = (value: Json): Json => {
  if (typeof value === 'string') return wellFormed(value)
  if (Array.isArray(value)) return value.map(wellFormedJson)
  if (typeof value !== 'object' || value === null) return value
  const copy: { [key: string]: Json } = {}
  for (const [key, child] of Object.entries(value)) copy[wellFormed(key)] = wellFormedJson(child)
  return copy
}

/**
 * Checks that a body is plain JSON within the size limit and returns a deep, frozen copy.
 * @remarks Lone surrogates in strings and keys become U+FFFD: Yjs stores strings as UTF-8, so every
 * other replica, and this one after a restart, would read U+FFFD anyway. Normalising here (rather
 * than refusing) keeps a UI that cut a string inside an emoji working, and makes the body `send`
 * returns the one everybody sees. The size limit applies to the normalised body.
 */
export const validateBody = (body: unknown, maxBytes: number): Json => {
  const flat = flatBody(body, maxBytes)
  if (flat) return flat
  let text: string | undefined
  try {
    text = JSON.stringify(body, function (this: Record<string, unknown>, key: string) {
      // JSON.stringify calls toJSON before the replacer (a Date arrives as a string): check the original.
      const value = this[key]
      if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('a non-finite number')
      if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') {
        throw new Error(`a ${typeof value}`)
      }
      if (value === undefined) throw new Error('undefined')
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const proto = Object.getPrototypeOf(value)
        if (proto !== Object.prototype && proto !== null)
          throw new Error(`an instance of ${proto?.constructor?.name}`)
        if (typeof (value as { toJSON?: unknown }).toJSON === 'function') throw new Error('a toJSON method')
        // Yjs decodes a "__proto__" key as a prototype: receivers would see another body.
        if (Object.hasOwn(value, '__proto__')) throw new Error('a "__proto__" key')
      }
      return value
    })
  } catch (cause) {
    throw new TidingsError(
      'input/invalid',
      `The message body is not JSON-serialisable: it holds ${(cause as Error).message}.`,
      {
        cause,
      },
    )
  }
  if (text === undefined)
    throw new TidingsError('input/invalid', 'The message body is not JSON-serialisable.')
  // JSON.stringify escapes a lone surrogate as \udXXX and leaves pairs as they are.
  if (/\\ud[89a-f]/i.test(text)) text = JSON.stringify(wellFormedJson(JSON.parse(text) as Json))
  // A UTF-16 unit is at most 3 UTF-8 bytes: a short body needs no encoding to be counted.
  const size = text.length * 3 <= maxBytes ? text.length : utf8.encode(text).length
  if (size > maxBytes) {
    throw new TidingsError(
      'input/too-large',
      `The message body is ${size} bytes as JSON; the limit is ${maxBytes}.`,
    )
  }
  return deepFreeze(JSON.parse(text) as Json)
}

const surrogate = /[\ud800-\udfff]/

/**
 * The common chat body, a plain object of strings, finite numbers, booleans and nulls, small
 * enough that its JSON cannot reach the limit, copied without a round trip through JSON: the
 * result equals what the general path returns. Undefined for anything else (which takes that path).
 */
const flatBody = (body: unknown, maxBytes: number): Json | undefined => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined
  const proto = Object.getPrototypeOf(body)
  if (proto !== Object.prototype && proto !== null) return undefined
  if ('toJSON' in body || Object.hasOwn(body, '__proto__')) return undefined
  const copy: { [key: string]: Json } = {}
  // JSON escapes a character as at most 6 bytes: `"key":"value",` per entry, plus the braces.
  let bound = 2
  for (const key of Object.keys(body)) {
    const value = (body as Record<string, unknown>)[key]
    if (surrogate.test(key)) return undefined
    if (typeof value === 'string') {
      if (surrogate.test(value)) return undefined
      bound += 6 * (key.length + value.length) + 6
    } else if (
      value === null ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value) && !Object.is(value, -0))
    ) {
      bound += 6 * key.length + 30
    } else return undefined
    copy[key] = value as Json
  }
  return bound <= maxBytes ? Object.freeze(copy) : undefined
}

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

const isHeaderLike = (value: unknown, id: string): value is MessageHeader => {
  const v = value as MessageHeader
  const parsed = parseMessageId(id)
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.author === 'string' &&
    isDeviceId(v.device) &&
    parsed?.device === v.device &&
    isStamp(v.stamp) &&
    isPriority(v.priority) &&
    (v.replyTo === undefined || parseMessageId(v.replyTo) !== undefined)
  )
}

/** Reads a lane-doc value; undefined when it is not a well-formed record for that id. */
export const readMessageRecord = (id: string, value: unknown): MessageRecord | undefined =>
  isHeaderLike(value, id) && 'body' in (value as object) ? deepFreeze(value as MessageRecord) : undefined

/** Reads a control value; undefined when malformed. */
export const readControlRecord = (value: unknown): ControlRecord | undefined => {
  const v = value as Record<string, unknown>
  if (typeof v !== 'object' || v === null || !isStamp(v.stamp)) return undefined
  if (v.deleted === true) {
    const header = v.header as MessageHeader | undefined
    return header && typeof header === 'object' ? (deepFreeze(v) as ControlRecord) : undefined
  }
  return 'body' in v ? (deepFreeze(v) as ControlRecord) : undefined
}

export const headerOf = ({ body: _body, ...header }: MessageRecord): MessageHeader => header

/** The outcome of a message's control records: the latest edit, or deletion. */
export interface Revision {
  readonly deleted: boolean
  readonly body?: Json
  readonly editedAt?: number
  readonly stamp?: Stamp
}

/**
 * Resolves the control records of one message, keyed by the writing device. A tombstone wins over
 * any edit; among edits the highest stamp wins, the device id breaking ties, so every replica picks
 * the same one.
 */
export const resolveRevision = (records: ReadonlyMap<string, ControlRecord>): Revision | undefined => {
  let best: { device: string; record: ControlRecord } | undefined
  // The latest tombstone by the same rule, so its stamp does not depend on the records' order.
  let tombstone: { device: string; record: ControlRecord } | undefined
  for (const [device, record] of records) {
    const current = 'deleted' in record ? tombstone : best
    if (
      !current ||
      compareStamps(record.stamp, current.record.stamp) > 0 ||
      (compareStamps(record.stamp, current.record.stamp) === 0 && device > current.device)
    ) {
      if ('deleted' in record) tombstone = { device, record }
      else best = { device, record }
    }
  }
  if (tombstone) return { deleted: true, stamp: tombstone.record.stamp }
  if (!best || 'deleted' in best.record) return undefined
  return {
    deleted: false,
    body: best.record.body,
    editedAt: best.record.stamp.wall,
    stamp: best.record.stamp,
  }
}

/** Sort key of a message: (stamp, device, seq), identical on every replica. */
export interface OrderKey {
  readonly stamp: Stamp
  readonly device: string
  readonly seq: number
}

export const compareOrder = (a: OrderKey, b: OrderKey): number =>
  compareStamps(a.stamp, b.stamp) || (a.device < b.device ? -1 : a.device > b.device ? 1 : a.seq - b.seq)
