import { TidingsError } from './errors.js'

declare const brand: unique symbol
type Brand<T, B extends string> = T & { readonly [brand]: B }

/** A conversation id: letters, digits, `.`, `_` and `-`, 1 to 128 characters. */
export type ConversationId = Brand<string, 'ConversationId'>
/** A device id: lowercase letters and digits, random, kept in the device's storage. */
export type DeviceId = Brand<string, 'DeviceId'>
/**
 * A message id, `<deviceId>.<seq>`, with seq a dense counter per device and conversation: unique
 * within its conversation (the same id may name another message in another conversation).
 */
export type MessageId = Brand<string, 'MessageId'>

/** Quotes a value for an error message; unlike JSON.stringify and String, never throws. */
export const quote = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return `a ${typeof value}`
  }
}

const conversationPattern = /^[A-Za-z0-9._-]{1,128}$/
const devicePattern = /^[a-z0-9]{4,32}$/
const messagePattern = /^([a-z0-9]{4,32})\.([1-9][0-9]{0,15})$/

/** Checks a conversation id (1 to 128 of `[A-Za-z0-9._-]`); throws `input/invalid` otherwise. */
export const conversationId = (id: string): ConversationId => {
  if (typeof id !== 'string' || !conversationPattern.test(id)) {
    throw new TidingsError(
      'input/invalid',
      `Conversation id ${quote(id)} is invalid: use 1 to 128 characters from [A-Za-z0-9._-].`,
      { subject: typeof id === 'string' ? id : quote(id) },
    )
  }
  return id as ConversationId
}

/** True when `id` is a device id: 4 to 32 of `[a-z0-9]`. */
export const isDeviceId = (id: unknown): id is DeviceId => typeof id === 'string' && devicePattern.test(id)

/** Checks a device id; throws `input/invalid` when it is not one. */
export const deviceId = (id: string): DeviceId => {
  if (!isDeviceId(id)) {
    throw new TidingsError('input/invalid', `Device id ${quote(id)} is invalid: use 4 to 32 of [a-z0-9].`)
  }
  return id
}

/** A fresh device id of 16 base-36 characters drawn from `random` (uniform on [0, 1)). */
export const randomDeviceId = (random: () => number): DeviceId => {
  let id = ''
  for (let i = 0; i < 16; i++) id += Math.floor(random() * 36).toString(36)
  return id as DeviceId
}

/** The id of the `seq`-th message of `device`: `<device>.<seq>`. */
export const messageId = (device: DeviceId, seq: number): MessageId => `${device}.${seq}` as MessageId

/** Splits a message id into its device and seq, or returns undefined when it is not one. */
export const parseMessageId = (id: string): { device: DeviceId; seq: number } | undefined => {
  // A send and the view parse the same id several times in a row.
  if (id === lastParsed.id) return lastParsed.parsed
  const match = messagePattern.exec(id)
  const seq = match ? Number(match[2]) : Number.NaN
  const parsed = Number.isSafeInteger(seq) ? Object.freeze({ device: match![1] as DeviceId, seq }) : undefined
  lastParsed = { id, parsed }
  return parsed
}
let lastParsed: { id: unknown; parsed: { device: DeviceId; seq: number } | undefined } = {
  id: undefined,
  parsed: undefined,
}
