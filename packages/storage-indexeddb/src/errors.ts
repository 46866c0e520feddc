import { TidingsError } from '@tidings/core'

const nameOf = (error: unknown): string =>
  typeof (error as { name?: unknown })?.name === 'string' ? (error as { name: string }).name : ''

/** True when the error says the browser's storage quota for the origin is used up. */
export const isQuotaError = (error: unknown): boolean =>
  nameOf(error) === 'QuotaExceededError' || (error as { code?: unknown })?.code === 22

/**
 * Turns an IndexedDB failure into the `TidingsError` a caller can branch on; anything else (a bug,
 * an error the browser did not classify) passes through unchanged.
 */
export const toTidingsError = (error: unknown, database: string, subject?: string): unknown => {
  if (error instanceof TidingsError) return error
  const about = { subject: subject ?? database, cause: error }
  if (isQuotaError(error))
    return new TidingsError(
      'quota/exceeded',
      `The browser's storage quota for this origin is used up (IndexedDB ${database}): nothing of this ` +
        'call was stored. Free space (drop old docs, call navigator.storage.persist()) and retry.',
      about,
    )
  if (nameOf(error) === 'VersionError')
    return new TidingsError(
      'storage/corrupt',
      `IndexedDB ${database} was written by a newer version of @tidings/storage-indexeddb; this one cannot read it.`,
      about,
    )
  return error
}

export const closedError = (database: string) =>
  new TidingsError('storage/closed', `The IndexedDB storage ${database} was closed.`, { subject: database })

export const lockedError = (database: string) =>
  new TidingsError(
    'storage/locked',
    `Another tab or worker holds the Web Lock of IndexedDB ${database}: only one may write it. ` +
      'Attach to that tab (transport-broadcast) or close it and create the storage again.',
    { subject: database },
  )

export const lockLostError = (database: string) =>
  new TidingsError(
    'storage/locked',
    `Another tab or worker took the Web Lock of IndexedDB ${database} from this storage (steal): it ` +
      'may no longer write it, so this write was refused and nothing of it was stored. Reads still ' +
      'work; close this storage and attach to the tab that holds the lock.',
    { subject: database },
  )

export const heldInProcessError = (database: string) =>
  new TidingsError(
    'storage/locked',
    `Another indexeddbStorage of this process holds IndexedDB ${database} and was not closed: only one ` +
      'may write it. Close that client (or its storage) first, or share its client.',
    { subject: database },
  )

export const corruptError = (database: string, subject: string, what: string) =>
  new TidingsError(
    'storage/corrupt',
    `${what} of ${subject} in IndexedDB ${database} had the wrong shape. It was moved to the quarantine ` +
      'store; the rest still loads.',
    { subject },
  )
