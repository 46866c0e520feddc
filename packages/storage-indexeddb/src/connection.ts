import { closedError, lockLostError, toTidingsError } from './errors.js'
import { openDatabase } from './schema.js'
import { type LockManagerLike, takeLock, takeProcessLock } from './web-lock.js'

interface Live {
  readonly db: IDBDatabase
  /** The browser closed it (Safari does, so does `versionchange` from another tab). */
  lost: boolean
}

export interface Connection {
  /**
   * Runs `fn` on an open database. A connection that was closing is reopened and `fn` retried once:
   * its transaction aborted, so nothing of it was kept.
   */
  use<T>(fn: (db: IDBDatabase) => Promise<T>, subject?: string): Promise<T>
  /** Lets calls already made finish, then closes the database and releases the Web Lock. */
  close(): Promise<void>
  readonly closed: boolean
  /**
   * True while this adapter holds the database's Web Lock, so no other adapter writes it. The
   * lock of this process (no Web Locks) does not see other tabs: false.
   */
  readonly exclusive: boolean
  /**
   * Throws `storage/locked` once another context took the Web Lock away (steal): from then on it
   * may write the database, so this adapter must not. Call it before every write; reads go on.
   */
  checkWritable(): void
}

const closing = (error: unknown) => {
  const name = (error as { name?: unknown } | null)?.name
  // InvalidStateError: db.transaction() on a closing connection. UnknownError: Safari's "connection
  // to Indexed Database server lost".
  return name === 'InvalidStateError' || name === 'UnknownError'
}

/** The database connection of one adapter, with its Web Lock. */
export const connect = (
  factory: IDBFactory,
  database: string,
  locks: LockManagerLike | undefined,
): Connection => {
  // Taken at once, so the first adapter created wins even before its first call. Without Web Locks,
  // at least a second adapter of this process is refused.
  let held = false
  let lost = false
  const lock = locks
    ? takeLock(locks, database, () => {
        lost = true
      }).then((release) => {
        held = true
        return release
      })
    : takeProcessLock(factory, database)
  lock.catch(() => undefined)
  let current: Live | undefined
  let opening: Promise<Live> | undefined
  let closed = false
  const inflight = new Set<Promise<unknown>>()

  const forget = (live: Live) => {
    live.lost = true
    live.db.close()
    if (current === live) current = undefined
  }
  const open = (): Promise<Live> => {
    opening ??= lock
      .then(() => openDatabase(factory, database))
      .then((db) => {
        const live: Live = { db, lost: false }
        // Another tab wants to upgrade or delete the database: step aside, reopen on the next call.
        db.onversionchange = () => forget(live)
        db.onclose = () => forget(live)
        current = live
        return live
      })
      .finally(() => {
        opening = undefined
      })
    return opening
  }

  const attempt = <T>(fn: (db: IDBDatabase) => Promise<T>, retried: boolean): Promise<T> => {
    // With a connection at hand the transaction starts synchronously, so transactions begin in call
    // order and a read sees every write called before it.
    const live = current
    if (!live) return open().then(() => attempt(fn, retried))
    let run: Promise<T>
    try {
      run = fn(live.db)
    } catch (error) {
      run = Promise.reject(error)
    }
    return run.catch((error: unknown) => {
      if (retried || !(live.lost || closing(error))) throw error
      forget(live)
      return attempt(fn, true)
    })
  }

  return {
    use(fn, subject) {
      if (closed) return Promise.reject(closedError(database))
      const run = attempt(fn, false).catch((error: unknown) => {
        throw toTidingsError(error, database, subject)
      })
      const settled: Promise<unknown> = run.then(
        () => inflight.delete(settled),
        () => inflight.delete(settled),
      )
      inflight.add(settled)
      return run
    },
    async close() {
      if (closed) return
      closed = true
      await Promise.allSettled([...inflight])
      if (current) forget(current)
      const release = await lock.catch(() => undefined)
      release?.()
    },
    get closed() {
      return closed
    },
    get exclusive() {
      return held && !lost && !closed
    },
    checkWritable() {
      if (lost) throw lockLostError(database)
    },
  }
}
