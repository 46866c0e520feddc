/** Options of a lock request, as in the Web Locks API (exclusive mode only). */
export interface LockRequestOptions {
  /** Take the lock only if nobody holds it; the callback then gets `null` instead of waiting. */
  readonly ifAvailable?: boolean
  /** Leaves the queue; the request rejects with an `AbortError`. Ignored once granted. */
  readonly signal?: AbortSignal
}

/**
 * The part of the Web Locks API (`navigator.locks`) this package uses: exclusive locks, held until
 * the callback's promise settles. The browser's `LockManager` fits; `memoryLocks()` is one for tests.
 */
export interface LockManagerLike {
  /** Runs `callback` once the lock `name` is granted and holds it until the returned promise settles. */
  request(
    name: string,
    options: LockRequestOptions,
    callback: (lock: { readonly name: string } | null) => Promise<unknown> | undefined,
  ): Promise<unknown>
}

/** The browser's LockManager, or undefined where there is none (Node, old browsers). */
export const defaultLocks = (): LockManagerLike | undefined =>
  (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks

const abortError = (): Error => {
  const error = new Error('The lock request was aborted.')
  error.name = 'AbortError'
  return error
}

/** An in-memory LockManager, with `held` showing which names are taken. */
export interface MemoryLocks extends LockManagerLike {
  readonly held: ReadonlySet<string>
}

/**
 * Exclusive locks inside one JavaScript realm, granted in request order like the Web Locks API:
 * for Node tests that play several tabs in one process, and for runtimes without `navigator.locks`.
 */
export const memoryLocks = (): MemoryLocks => {
  const held = new Set<string>()
  const queues = new Map<string, (() => void)[]>()

  const next = (name: string) => {
    const queue = queues.get(name)
    const grant = queue?.shift()
    if (queue?.length === 0) queues.delete(name)
    grant?.()
  }

  return {
    held,
    request(name, options, callback) {
      return new Promise((resolve, reject) => {
        if (options.signal?.aborted) {
          reject(abortError())
          return
        }
        const grant = () => {
          held.add(name)
          // The lock is held until the callback's promise settles, whatever its outcome.
          Promise.resolve()
            .then(() => callback({ name }))
            .then(resolve, reject)
            .finally(() => {
              held.delete(name)
              next(name)
            })
        }
        if (!held.has(name) && !queues.has(name)) {
          grant()
          return
        }
        if (options.ifAvailable) {
          Promise.resolve()
            .then(() => callback(null))
            .then(resolve, reject)
          return
        }
        const queue = queues.get(name) ?? []
        queues.set(name, queue)
        const waiter = () => {
          options.signal?.removeEventListener('abort', abort)
          grant()
        }
        const abort = () => {
          const i = queue.indexOf(waiter)
          if (i < 0) return
          queue.splice(i, 1)
          if (queue.length === 0) queues.delete(name)
          reject(abortError())
        }
        options.signal?.addEventListener('abort', abort, { once: true })
        queue.push(waiter)
      })
    },
  }
}
