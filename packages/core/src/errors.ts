/** Every error code Tidings raises. The part before the slash names the layer that refused. */
export type ErrorCode =
  | 'input/invalid'
  | 'input/too-large'
  | 'message/unknown'
  | 'permission/denied'
  | 'conversation/closed'
  | 'client/closed'
  /** A failure no other code describes (a storage driver's own error, say); `cause` holds it. */
  | 'client/unexpected'
  | 'storage/corrupt'
  | 'storage/full'
  | 'storage/locked'
  | 'storage/closed'
  /** The storage's folder or file cannot be created or written (a read-only disk, a file in the way). */
  | 'storage/unwritable'
  /** A storage server (PostgreSQL) cannot be reached or dropped the connection: nothing was stored. */
  | 'storage/unavailable'
  /** The server's port is taken, or needs privileges this process lacks. */
  | 'server/address-in-use'
  | 'quota/exceeded'
  | 'protocol/malformed'
  | 'auth/denied'
  | 'clock/skew'
  | 'retention/expired'
  | 'import/invalid'
  /** The server could not be reached: it is down, refused the connection, or the host is unknown. */
  | 'network/unreachable'
  /** The server answered the WebSocket upgrade with an HTTP error (a 404: the URL's path is wrong). */
  | 'network/bad-path'
  /** TLS does not match: `wss://` to a plain server, or `ws://` to a TLS one. */
  | 'network/tls'
  /** An established link dropped: the server closed it or stopped answering pings. */
  | 'network/lost'
  /** Offline because the app called `disconnect()`: not a failure. */
  | 'offline/switch'
  /** Offline because the platform reports no network: not a failure. */
  | 'offline/platform'

// A registry symbol, so every copy of this package (its ESM and CJS builds, or two installed
// versions) marks and recognises the same brand where `instanceof` would see different classes.
const BRAND = Symbol.for('tidings.error')

/** An error with a stable `code` to branch on and a message a developer can act on. */
export class TidingsError extends Error {
  override readonly name = 'TidingsError'
  readonly code: ErrorCode
  /** What the error concerns: a message id, a doc name, a conversation id. */
  readonly subject: string | undefined

  constructor(code: ErrorCode, message: string, options?: { subject?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.subject = options?.subject
    Object.defineProperty(this, BRAND, { value: true })
  }
}

/**
 * Whether `value` is a TidingsError (with `code`, when given), from this copy of the package or any
 * other: prefer it to `instanceof`, which is false for an error thrown by another copy.
 */
export const isTidingsError = (value: unknown, code?: ErrorCode): value is TidingsError => {
  if (typeof value !== 'object' || value === null || !(BRAND in value)) return false
  const found = (value as { code?: unknown }).code
  return typeof found === 'string' && (code === undefined || found === code)
}
