import { TidingsError } from '@tidings/core'

const codeOf = (error: unknown): string =>
  typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : ''

/** Socket errors and SQLSTATE classes that mean the database is out of reach, not that the query is wrong. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'])
const unreachable = (code: string, message: string) =>
  UNREACHABLE.has(code) ||
  code.startsWith('08') || // connection exception
  code === '57P01' || // admin shutdown
  code === '57P02' || // crash shutdown
  code === '57P03' || // cannot connect now (starting up)
  /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message)

/**
 * Turns a pg failure into the `TidingsError` a caller can branch on; anything else (a bug, a
 * constraint the adapter should have kept) passes through unchanged.
 */
export const toTidingsError = (error: unknown, where: string, subject?: string): unknown => {
  if (error instanceof TidingsError) return error
  const code = codeOf(error)
  const message = error instanceof Error ? error.message : String(error)
  const about = { subject: subject ?? where, cause: error }
  if (unreachable(code, message))
    return new TidingsError(
      'storage/unavailable',
      `PostgreSQL at ${where} cannot be reached (${code || message}): nothing of this call was stored. Check that the server runs and the URL is right.`,
      about,
    )
  if (code === '53100')
    return new TidingsError(
      'storage/full',
      `PostgreSQL at ${where} is out of disk space: nothing was stored.`,
      about,
    )
  if (code === '42501')
    return new TidingsError(
      'storage/unwritable',
      `The PostgreSQL role lacks a privilege on ${where} (${message}): grant it, or pick a schema the role owns.`,
      about,
    )
  if (code === '22021' || code === '22P05')
    return new TidingsError(
      'input/invalid',
      `PostgreSQL text cannot hold this name or key (${message}): NUL characters are refused. Nothing was stored.`,
      about,
    )
  return error
}

export const closedError = (where: string) =>
  new TidingsError('storage/closed', `The PostgreSQL storage at ${where} was closed.`, { subject: where })
