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
  | 'quota/exceeded'
  | 'protocol/malformed'
  | 'auth/denied'
  | 'clock/skew'
  | 'retention/expired'
  | 'import/invalid'

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
  }
}

export const isTidingsError = (value: unknown, code?: ErrorCode): value is TidingsError =>
  value instanceof TidingsError && (code === undefined || value.code === code)
