import { TidingsError } from '@tidings/core'

const sqliteCode = (error: unknown): string =>
  typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : ''

/**
 * Turns a better-sqlite3 failure into the `TidingsError` a caller can branch on; anything else
 * (a bug, an I/O error SQLite could not classify) passes through unchanged.
 */
export const toTidingsError = (error: unknown, path: string, subject?: string): unknown => {
  if (error instanceof TidingsError) return error
  const code = sqliteCode(error)
  const about = { subject: subject ?? path, cause: error }
  if (code.startsWith('SQLITE_FULL'))
    return new TidingsError(
      'storage/full',
      `${path} is full (disk or size cap): nothing of this write was stored. Free space and retry.`,
      about,
    )
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
    return new TidingsError(
      'storage/locked',
      `${path} is held by another connection: only one client may use a storage file at a time.`,
      about,
    )
  if (['ENOTDIR', 'EEXIST', 'EACCES', 'EPERM', 'EROFS'].includes(code) || code.startsWith('SQLITE_CANTOPEN'))
    return new TidingsError(
      'storage/unwritable',
      `${path} cannot be created or written (${code}): pick a folder this process may write to.`,
      about,
    )
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB'))
    return new TidingsError('storage/corrupt', `${path} is damaged: ${(error as Error).message}`, about)
  return error
}

export const closedError = (path: string) =>
  new TidingsError('storage/closed', `The SQLite storage at ${path} was closed.`, { subject: path })
