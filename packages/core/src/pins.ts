import { compareStamps, isStamp, type Stamp } from './hlc.js'
import { type DeviceId, isDeviceId, type MessageId, parseMessageId } from './ids.js'
import {
  type ControlRecord,
  type Json,
  type MessageHeader,
  type MessageRecord,
  readMessageRecord,
} from './message.js'

/**
 * A pin as kept in meta's `pins` map under `<messageId>/<pinnerDevice>`: one writer per key, so
 * who pinned is the key's device (mapped to its user by meta `devices`), never a claim in the
 * value. The snapshot is the message's header and one genuine revision of its body: the original
 * (`stamp` equals `header.stamp`) or an edit by one of the author's devices (`stamp` is the edit's).
 * It lets a pin outlive the period that held the message.
 */
export interface PinRecord {
  readonly header: MessageHeader
  readonly body: Json
  readonly stamp: Stamp
}

/** Splits a `<messageId>/<deviceId>` key (control records, pins, pin edits). */
export const parseRecordKey = (key: string): { id: MessageId; device: DeviceId } | undefined => {
  const slash = key.lastIndexOf('/')
  const id = key.slice(0, slash)
  const device = key.slice(slash + 1)
  if (slash < 0 || !parseMessageId(id) || !isDeviceId(device)) return undefined
  return { id: id as MessageId, device }
}

/** The fields of a pin value, no more. */
const PIN_FIELDS = ['header', 'body', 'stamp']

/** Reads a `pins` value; undefined when it is not a well-formed snapshot of message `id`. */
export const readPinRecord = (id: string, value: unknown): PinRecord | undefined => {
  const v = value as Record<string, unknown>
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !isStamp(v.stamp) || !('body' in v))
    return undefined
  // Exactly these fields: anything else (a claimed `pinnedBy`, a large blob) is not a pin.
  if (Object.keys(v).length !== PIN_FIELDS.length || !PIN_FIELDS.every((k) => Object.hasOwn(v, k)))
    return undefined
  const header = readMessageRecord(id, { ...(v.header as object), body: null })
  if (!header || typeof v.header !== 'object') return undefined
  return v as unknown as PinRecord
}

/** Structural equality of JSON values, whatever the order of object keys. */
export const jsonEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  return ka.every(
    (k) =>
      Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  )
}

/**
 * Does a pin's snapshot match the message as stored? Its header must equal the stored header, and
 * its body either the stored original (stamped with the message's own stamp) or an edit that one
 * of the author's devices wrote (stamped with that edit's stamp).
 * @param stored the message record from its lane doc (undefined when absent or deleted)
 * @param edits the edit records written by the author's devices
 */
export const pinMatches = (
  pin: PinRecord,
  stored: MessageRecord | undefined,
  edits: Iterable<ControlRecord>,
): boolean => {
  if (!stored) return false
  const { body: original, ...header } = stored
  if (!jsonEqual(pin.header, header)) return false
  if (compareStamps(pin.stamp, stored.stamp) === 0) return jsonEqual(pin.body, original)
  for (const edit of edits) {
    if ('deleted' in edit) continue
    if (compareStamps(edit.stamp, pin.stamp) === 0 && jsonEqual(edit.body, pin.body)) return true
  }
  return false
}

/**
 * Is a pin's snapshot an edit the author has since replaced? A device keeps one edit record per
 * message, so once its author edits again the edit a snapshot matched is gone and `pinMatches`
 * cannot prove the snapshot's body. The pin still stands where its message is loaded: its header
 * must match the stored message and a later edit by the author must exist, whose body is the one
 * shown, never the snapshot's. A server checks a new pin with `pinMatches` alone.
 */
export const pinSuperseded = (
  pin: PinRecord,
  stored: MessageRecord | undefined,
  edits: Iterable<ControlRecord>,
): boolean => {
  if (!stored || compareStamps(pin.stamp, stored.stamp) <= 0) return false
  const { body: _original, ...header } = stored
  if (!jsonEqual(pin.header, header)) return false
  for (const edit of edits) if (!('deleted' in edit) && compareStamps(edit.stamp, pin.stamp) > 0) return true
  return false
}
