import type { ErrorCode } from '@tidings/core'

// A record, not a list, so the compiler tells us when core adds or renames a code.
const CODES: Record<ErrorCode, true> = {
  'input/invalid': true,
  'input/too-large': true,
  'message/unknown': true,
  'permission/denied': true,
  'conversation/closed': true,
  'client/closed': true,
  'client/unexpected': true,
  'storage/corrupt': true,
  'storage/full': true,
  'storage/locked': true,
  'storage/closed': true,
  'storage/unwritable': true,
  'storage/unavailable': true,
  'server/address-in-use': true,
  'quota/exceeded': true,
  'protocol/malformed': true,
  'auth/denied': true,
  'clock/skew': true,
  'retention/expired': true,
  'import/invalid': true,
  'network/unreachable': true,
  'network/bad-path': true,
  'network/tls': true,
  'network/lost': true,
  'offline/switch': true,
  'offline/platform': true,
}

/** The core error code a server sent; a code this client does not know reads as `protocol/malformed`. */
export const toErrorCode = (code: string): ErrorCode =>
  Object.hasOwn(CODES, code) ? (code as ErrorCode) : 'protocol/malformed'
