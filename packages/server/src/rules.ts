import {
  type DocRef,
  isDeviceId,
  isPeriodMs,
  isStamp,
  MAX_DRIFT,
  type MessageHeader,
  PRIORITIES,
  parseMessageId,
  parseRecordKey,
  pinMatches,
  readPinRecord,
} from '@tidings/core'
import { isJson, Refusal } from './decode.js'
import type { StoredMessage } from './pins.js'

/** Who sends an update. `device` is null on the y-websocket path when the client named none. */
export interface Sender {
  readonly userId: string
  readonly device: string | null
  readonly canWrite: boolean
  /** May write meta `retention` and `settings` (see `AuthResult.canAdmin`). */
  readonly canAdmin?: boolean
}

/** What the content rules need to know besides the entry itself. */
export interface RuleContext {
  readonly sender: Sender
  /** The user a device belongs to, from the server's meta doc (`devices` map). */
  readonly deviceOwner: (device: string) => string | undefined
  readonly now: number
  /** The highest retention value a client may write now: server time, or the policy's cutoff. */
  readonly retentionLimit: number
  /** The message a pin names, as stored; without it every pin is refused. */
  readonly storedMessage?: (id: string, header: MessageHeader) => StoredMessage
}

/** Settings that define how docs are laid out: written once, never changed. */
export const LAYOUT_SETTINGS: readonly string[] = ['periodMs']

/** A new root-map entry: its value is undefined when the update carries it already deleted. */
export interface Entry {
  readonly map: string
  readonly key: string
  readonly value?: unknown
  readonly deleted: boolean
}

const deny = (reason: string): never => {
  throw new Refusal('permission/denied', reason)
}

/**
 * Is `device` the sender's? It must be registered to the sender's user in this conversation's
 * meta: nothing is written for a device before its owner registered it (a device id is visible in
 * message ids, and an unregistered one is no one's yet here). It must also be the connection's
 * device; without one (y-websocket with no `?device=`), any device meta gives the sender's user.
 */
const isSendersDevice = (device: string, ctx: RuleContext): boolean => {
  if (ctx.deviceOwner(device) !== ctx.sender.userId) return false
  return ctx.sender.device === null ? isDeviceId(device) : device === ctx.sender.device
}

/** Does the message's device belong to the sender's user, as registered in this conversation? */
const ownsMessage = (messageDevice: string, ctx: RuleContext): boolean =>
  ctx.deviceOwner(messageDevice) === ctx.sender.userId

const checkSkew = (stamp: { wall: number }, ctx: RuleContext): void => {
  if (stamp.wall > ctx.now + MAX_DRIFT) {
    throw new Refusal('clock/skew', `a stamp ${stamp.wall - ctx.now} ms ahead of the server's clock`)
  }
}

/** `<messageId>/<device>` keys of control records and pin edits: one writer per key. */
const checkRecordKey = (entry: Entry, ctx: RuleContext): void => {
  const slash = entry.key.lastIndexOf('/')
  const message = parseMessageId(entry.key.slice(0, slash))
  const device = entry.key.slice(slash + 1)
  if (slash < 0 || !message) deny(`key ${JSON.stringify(entry.key)} is not <messageId>/<deviceId>`)
  if (!isSendersDevice(device, ctx)) deny(`key ${JSON.stringify(entry.key)} names another device`)
  if (!ownsMessage(message!.device, ctx)) deny(`message ${message!.device} is another user's`)
  if (entry.deleted) return
  const record = entry.value as { stamp?: unknown }
  if (typeof record !== 'object' || record === null || !isStamp(record.stamp))
    deny('a control record needs a stamp')
  checkSkew(record.stamp as { wall: number }, ctx)
}

/**
 * Pins are keyed `<messageId>/<pinnerDevice>`: the pinner is the key's device, which must be the
 * sender's, and the snapshot must match the message as stored (its header, and its original body
 * or an edit by one of its author's devices). A message never sent, or deleted, cannot be pinned.
 */
const checkPin = (entry: Entry, ctx: RuleContext): void => {
  const key = parseRecordKey(entry.key)
  if (!key) deny(`pin ${JSON.stringify(entry.key)} is not <messageId>/<deviceId>`)
  if (!isSendersDevice(key!.device, ctx)) deny(`pin ${JSON.stringify(entry.key)} names another device`)
  if (entry.deleted) return
  const pin = readPinRecord(key!.id, entry.value)
  if (!pin) deny(`pin ${entry.key} is not a snapshot {header, body, stamp} of its message`)
  const stored = ctx.storedMessage?.(key!.id, pin!.header)
  if (!stored?.record) deny(`pin ${entry.key} names a message the server does not store`)
  if (!pinMatches(pin!, stored!.record, stored!.edits))
    deny(`pin ${entry.key} does not match the stored message`)
}

const checkMessage = (entry: Entry, ctx: RuleContext): void => {
  if (entry.map !== 'm') deny(`lane docs hold messages in the map "m", not "${entry.map}"`)
  const id = parseMessageId(entry.key)
  if (!id) deny(`key ${JSON.stringify(entry.key)} is not a message id`)
  if (!isSendersDevice(id!.device, ctx)) deny(`message ${entry.key} names another device`)
  if (entry.deleted) return
  const v = entry.value as Record<string, unknown>
  if (typeof v !== 'object' || v === null || Array.isArray(v)) deny('a message is a JSON object')
  if (v.author !== ctx.sender.userId) deny(`message ${entry.key} claims another author`)
  if (v.device !== id!.device) deny(`message ${entry.key} names device ${JSON.stringify(v.device)}`)
  if (!isStamp(v.stamp)) deny(`message ${entry.key} has no valid stamp`)
  if (!PRIORITIES.includes(v.priority as never)) deny(`message ${entry.key} has no valid priority`)
  if (!('body' in v)) deny(`message ${entry.key} has no body`)
  if (v.replyTo !== undefined && (typeof v.replyTo !== 'string' || !parseMessageId(v.replyTo)))
    deny(`message ${entry.key} replies to an invalid id`)
  checkSkew(v.stamp as { wall: number }, ctx)
}

const checkMeta = (entry: Entry, ctx: RuleContext): void => {
  switch (entry.map) {
    case 'devices':
      // Only a connection that announced the device (bound to its user at authentication) may
      // register it: ids seen in messages give no rights.
      if (!isDeviceId(entry.key)) deny(`${JSON.stringify(entry.key)} is not a device id`)
      if (entry.key !== ctx.sender.device) deny(`devices entry ${entry.key} is not the sender's device`)
      if (!entry.deleted && entry.value !== ctx.sender.userId)
        deny(`devices entry ${entry.key} must map to the sender's user`)
      return
    case 'retention':
      // Dropping history is an admin's decision, never past what the server allows at its time.
      if (!ctx.sender.canAdmin) deny('only an admin may change retention')
      // One writer per key, as everywhere else; 'server' belongs to the server.
      if (!isSendersDevice(entry.key, ctx)) deny(`retention entry ${entry.key} is not the sender's`)
      if (entry.deleted) return
      if (!(Number.isSafeInteger(entry.value) && (entry.value as number) >= 0))
        deny('retention values are times in ms')
      if ((entry.value as number) > ctx.retentionLimit)
        deny(`retention ${entry.value} is past what the server allows now (${ctx.retentionLimit})`)
      return
    case 'pinEdits':
      checkRecordKey(entry, ctx)
      return
    case 'pins':
      checkPin(entry, ctx)
      return
    case 'settings':
      if (!ctx.sender.canAdmin) deny('only an admin may change settings')
      if (entry.key === 'periodMs' && !entry.deleted && !isPeriodMs(entry.value))
        deny('periodMs is a period length in ms, from 1 s to 366 days')
      return
    default:
      deny(`meta has no map "${entry.map}"`)
  }
}

/**
 * Checks a new root-map entry of a Tidings doc against the rules of its doc kind.
 * @throws Refusal
 */
export const checkEntry = (ref: DocRef, entry: Entry, ctx: RuleContext): void => {
  if (!entry.deleted && !isJson(entry.value)) deny('values must be JSON')
  switch (ref.kind) {
    case 'meta':
      checkMeta(entry, ctx)
      return
    case 'control':
      if (entry.map !== 'c') deny(`control docs hold records in the map "c", not "${entry.map}"`)
      checkRecordKey(entry, ctx)
      return
    case 'receipts':
      if (entry.map !== 'r') deny(`receipts docs hold records in the map "r", not "${entry.map}"`)
      if (!isSendersDevice(entry.key, ctx)) deny(`receipt ${entry.key} is not the sender's device`)
      if (!entry.deleted && (typeof entry.value !== 'object' || entry.value === null))
        deny('a receipt is a JSON object')
      return
    default:
      checkMessage(entry, ctx)
  }
}
