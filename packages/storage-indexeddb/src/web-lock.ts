import { heldInProcessError, lockedError } from './errors.js'

/**
 * The part of the Web Locks API (`navigator.locks`) the adapter uses; inject one in tests or in
 * environments that bring their own.
 */
export interface LockManagerLike {
  /** Runs `callback` holding the lock `name`, or with null when `ifAvailable` and it is held elsewhere. */
  request(
    name: string,
    options: { ifAvailable: boolean },
    callback: (lock: Lock | null) => Promise<void> | undefined,
  ): Promise<unknown>
}

/** The browser's LockManager, or undefined where there is none (Node, old browsers). */
export const defaultLocks = (): LockManagerLike | undefined =>
  (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks

/**
 * Takes the exclusive lock `tidings:<database>` if nobody holds it, and keeps it until the returned
 * release function runs. Rejects with `storage/locked` when another tab or worker holds it: the
 * request does not queue, so a second tab learns at once that it must attach to the first.
 * @remarks `onLost` runs if the lock ends before its release: another context stole it
 * (`steal: true`), so this adapter may no longer be the only writer.
 */
export const takeLock = (
  locks: LockManagerLike,
  database: string,
  onLost: () => void = () => undefined,
): Promise<() => void> =>
  new Promise((resolve, reject) => {
    let held = false
    let released = false
    locks
      .request(`tidings:${database}`, { ifAvailable: true }, (lock) => {
        if (lock === null) {
          reject(lockedError(database))
          return undefined
        }
        held = true
        return new Promise<void>((release) =>
          resolve(() => {
            released = true
            release()
          }),
        )
      })
      .then(
        () => {
          if (held && !released) onLost()
        },
        (error: unknown) => {
          if (held && !released) onLost()
          reject(error)
        },
      )
  })

/** Databases held by an adapter of this process (this page, worker or Node), per IndexedDB factory. */
const heldInProcess = new WeakMap<IDBFactory, Set<string>>()

/**
 * Where there are no Web Locks, holds `database` of `factory` for one adapter of this process, so a
 * second adapter opened beside it rejects with `storage/locked` instead of minting the same message
 * seqs. Other processes (tabs of an old browser) are not seen: that needs Web Locks.
 */
export const takeProcessLock = (factory: IDBFactory, database: string): Promise<() => void> => {
  let held = heldInProcess.get(factory)
  if (!held) {
    held = new Set()
    heldInProcess.set(factory, held)
  }
  if (held.has(database)) return Promise.reject(heldInProcessError(database))
  held.add(database)
  let released = false
  return Promise.resolve(() => {
    if (released) return
    released = true
    held.delete(database)
  })
}
