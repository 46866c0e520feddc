import type { StoreName } from './schema.js'

const STRICT: IDBTransactionOptions = { durability: 'strict' }

/**
 * Runs `body` in one transaction and settles with the transaction: resolves with the body's result
 * on `complete`, rejects on `error` or `abort` (with the browser's error, e.g. QuotaExceededError).
 * A body that throws or rejects aborts the transaction, so nothing of it is kept.
 * @remarks Read-write transactions are `durability: 'strict'`: `complete` fires after the data is
 * flushed to disk, not merely handed to the OS.
 */
export const transact = <T>(
  db: IDBDatabase,
  stores: readonly StoreName[],
  mode: IDBTransactionMode,
  body: (tx: IDBTransaction) => T | Promise<T>,
): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const tx = db.transaction([...stores], mode, mode === 'readwrite' ? STRICT : undefined)
    let result: { value: T } | undefined
    let failure: { error: unknown } | undefined
    const fail = (error: unknown) => {
      failure ??= { error }
      try {
        tx.abort()
      } catch {
        // Already finished or aborting: the abort event (or its absence) settles the promise.
      }
    }
    tx.oncomplete = () => {
      if (failure) reject(failure.error)
      else if (result) resolve(result.value)
      else reject(new Error('The transaction completed before its body finished.'))
    }
    tx.onerror = (event) => {
      const error = (event.target as IDBRequest | null)?.error
      // Requests still pending when the transaction aborts fail with AbortError: that is not the
      // cause, which the abort event (or the body's failure) reports.
      if (error?.name !== 'AbortError') reject(failure?.error ?? error ?? tx.error)
    }
    // tx.error is the browser's reason (quota, lost connection); null when the body aborted.
    tx.onabort = () =>
      reject(tx.error ?? failure?.error ?? new DOMException('The transaction was aborted.', 'AbortError'))
    try {
      Promise.resolve(body(tx)).then((value) => {
        result = { value }
      }, fail)
    } catch (error) {
      fail(error)
    }
  })

/** A request as a promise that rejects with the request's own error (lib0's `rtop` stringifies it). */
export const request = <T>(req: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })

/** The distinct keys of an index, in order: one cursor step per key, not per record. */
export const uniqueKeys = (index: IDBIndex): Promise<string[]> =>
  new Promise((resolve, reject) => {
    const keys: string[] = []
    const req = index.openKeyCursor(null, 'nextunique')
    req.onsuccess = () => {
      const cursor = req.result
      if (!cursor) return resolve(keys)
      if (typeof cursor.key === 'string') keys.push(cursor.key)
      cursor.continue()
    }
    req.onerror = () => reject(req.error)
  })
