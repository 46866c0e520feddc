import type { DocRecord } from './records.js'

/** The outbox as the adapter last committed it: its keys and the highest `order` given. */
export interface OutboxKnown {
  readonly keys: ReadonlySet<IDBValidKey>
  readonly last: number
}

/** What a write may build on without reading; what is missing is read in its transaction. */
export interface Known {
  readonly docs: ReadonlyMap<string, DocRecord>
  readonly outbox: OutboxKnown | undefined
  /** Read the whole outbox key list if the outbox is not known, so it is known after this write. */
  readonly learn: boolean
}

/** What holds once a write committed: the records of the docs it wrote, and its outbox changes. */
export interface Written {
  readonly docs: ReadonlyMap<string, DocRecord>
  readonly outbox?: {
    readonly last: number
    readonly added: readonly string[]
    readonly removed: readonly string[]
    /** Every key stored before the write, when it read them. */
    readonly before?: ReadonlySet<IDBValidKey>
  }
}

const NOTHING: Known = { docs: new Map(), outbox: undefined, learn: false }

/** Keeps what writes committed, so the next write does not read it back. */
export interface WriteCache {
  /**
   * Runs a write's transaction on `db`. `body` gets what is known: nothing while the adapter does
   * not hold the database alone (`exclusive`) or while another read-write transaction is in
   * flight. What it returns is kept only after its transaction completed; any failure forgets all.
   */
  write(db: IDBDatabase, exclusive: boolean, body: (known: Known) => Promise<Written>): Promise<void>
  /** Runs another read-write transaction (compaction, drop, repairs): all that is known is forgotten. */
  change<T>(body: () => Promise<T>): Promise<T>
}

/**
 * The cache of doc records and outbox keys behind `write`. It is sound because one adapter alone
 * writes the database while it holds the Web Lock, read-write transactions over the same stores
 * run (and complete) in the order they were created, and each write's result is applied when its
 * transaction completes. A write starting while another is in flight reads what it needs in its
 * own transaction, so it sees every earlier write or the failure of it.
 */
export const writeCache = (): WriteCache => {
  let on: IDBDatabase | undefined
  let busy = 0
  const docs = new Map<string, DocRecord>()
  let outbox: { keys: Set<IDBValidKey>; last: number } | undefined
  const forget = () => {
    docs.clear()
    outbox = undefined
  }

  const keep = (written: Written) => {
    for (const [doc, record] of written.docs) docs.set(doc, record)
    const change = written.outbox
    if (!change) return
    const keys = outbox?.keys ?? (change.before ? new Set(change.before) : undefined)
    if (!keys) return
    for (const key of change.added) keys.add(key)
    for (const key of change.removed) keys.delete(key)
    outbox = { keys, last: change.last }
  }

  return {
    async write(db, exclusive, body) {
      // A new connection may open a database another tab changed or deleted meanwhile.
      if (db !== on || !exclusive) {
        forget()
        on = db
      }
      const alone = exclusive && busy === 0
      busy++
      try {
        const written = await body(alone ? { docs, outbox, learn: true } : NOTHING)
        if (exclusive && on === db) keep(written)
      } catch (error) {
        // The failed write changed nothing, but its failure may come from a wrong cache (a row
        // number taken by a writer the lock did not keep out): the next write reads again.
        forget()
        throw error
      } finally {
        busy--
      }
    },
    async change(body) {
      forget()
      busy++
      try {
        return await body()
      } finally {
        forget()
        busy--
      }
    },
  }
}
