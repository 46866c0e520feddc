import {
  type DocInfo,
  mergeStoredRows,
  type OutboxEntry,
  type StorageAdapter,
  TidingsError,
} from '@tidings/core'
import * as idb from 'lib0/indexeddb'
import { pack } from './codec.js'
import { connect } from './connection.js'
import { closedError, corruptError } from './errors.js'
import { isDocRecord, readOutboxRecord } from './records.js'
import {
  type BadRow,
  inflateRows,
  putDoc,
  quarantine,
  quarantineRows,
  readDoc,
  readRows,
  rowRange,
} from './rows.js'
import { ALL_STORES, type StoreName } from './schema.js'
import { request, transact, uniqueKeys } from './transaction.js'
import { checkBatch, checkName } from './validate.js'
import { defaultLocks, type LockManagerLike } from './web-lock.js'
import { writeBatch } from './write-batch.js'
import { writeCache } from './write-cache.js'

/** Options of `indexeddbStorage`; every field has a default. */
export interface IndexeddbStorageOptions {
  /** Database name, one per client (default `'tidings'`); also names the Web Lock `tidings:<name>`. */
  readonly name?: string
  /** The IndexedDB factory (default: the global `indexedDB`); pass fake-indexeddb's in Node. */
  readonly indexedDB?: IDBFactory
  /** The key range class of that factory (default: the global `IDBKeyRange`). */
  readonly IDBKeyRange?: typeof IDBKeyRange
  /**
   * Web Locks (default `navigator.locks`). Where there is none (Node, workers without it) or with
   * `null`, only adapters of this process are kept apart: a second one on the same factory and
   * database rejects with `storage/locked` until the first is closed. Other tabs are not seen.
   */
  readonly locks?: LockManagerLike | null
  /**
   * Compress compacted rows of at least this many bytes with CompressionStream('deflate')
   * where the runtime has it (default 1024); `false` stores them as they are.
   */
  readonly compressAbove?: number | false
}

/** A `StorageAdapter` on one IndexedDB database. */
export interface IndexeddbStorage extends StorageAdapter {
  readonly name: string
}

const UPDATES_DOCS = ['updates', 'docs', 'quarantine'] as const

/**
 * Storage in one IndexedDB database (stores `updates`, `docs`, `meta`, `outbox`, `quarantine`), for
 * browsers. Every write is one `durability: 'strict'` transaction and resolves on its `complete`.
 * @remarks Takes the Web Lock `tidings:<name>` at once; while another tab holds it, every call
 * rejects with `storage/locked`. Without Web Locks, the same holds for another adapter of this
 * process on the same database.
 */
export const indexeddbStorage = (options: IndexeddbStorageOptions = {}): IndexeddbStorage => {
  const name = options.name ?? 'tidings'
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB
  const KeyRange = options.IDBKeyRange ?? (globalThis as { IDBKeyRange?: typeof IDBKeyRange }).IDBKeyRange
  if (!factory || !KeyRange)
    throw new TidingsError(
      'input/invalid',
      'indexeddbStorage needs IndexedDB: pass { indexedDB, IDBKeyRange } (fake-indexeddb in Node).',
    )
  const conn = connect(factory, name, options.locks === null ? undefined : (options.locks ?? defaultLocks()))
  const compressAbove = options.compressAbove === false ? undefined : (options.compressAbove ?? 1024)
  const rows = (doc: string) => rowRange(KeyRange, doc)
  const rowsUpTo = (doc: string, last: number) => KeyRange.bound([doc, -Infinity], [doc, last])
  // Doc records and outbox keys as committed, so a send writes without reading first.
  const cache = writeCache()
  /** A read-write transaction other than a write: it changes what the cache holds. */
  const change = <T>(
    stores: readonly StoreName[],
    body: (tx: IDBTransaction) => T | Promise<T>,
    subject?: string,
  ) => {
    conn.checkWritable()
    return conn.use((db) => {
      conn.checkWritable()
      return cache.change(() => transact(db, stores, 'readwrite', body))
    }, subject)
  }

  /**
   * Moves a doc's malformed rows aside, and the `damaged` ones (that would not inflate) still
   * there, in a transaction of its own; returns the error to throw.
   */
  const setRowsAside = async (doc: string, damaged: readonly BadRow[] = []) => {
    const failed = new Map(damaged.map((d) => [(d.key as [string, number])[1], d]))
    await change(
      UPDATES_DOCS,
      async (tx) => {
        const [state, { good, bad }] = await Promise.all([
          readDoc(tx, rows(doc), doc),
          readRows(tx, rows(doc)),
        ])
        const aside = [...bad, ...good.flatMap((r) => failed.get(r.n) ?? [])]
        if (aside.length > 0) quarantineRows(tx, doc, state, aside)
      },
      doc,
    )
    return corruptError(name, doc, 'A stored update')
  }

  /** A doc's updates, inflated; damaged rows are set aside and reported. */
  const loadRows = async (doc: string) => {
    const read = await conn.use(
      (db) => transact(db, ['updates'], 'readonly', (tx) => readRows(tx, rows(doc))),
      doc,
    )
    if (read.bad.length > 0) throw await setRowsAside(doc)
    const { good, bad } = await inflateRows(read.good)
    if (bad.length > 0) throw await setRowsAside(doc, bad)
    return good
  }

  /** Entries of outbox records that pass their checks; the others are quarantined and reported. */
  const checkedOutbox = async (values: readonly unknown[]): Promise<OutboxEntry[]> => {
    const entries: OutboxEntry[] = []
    const bad: { key: IDBValidKey; doc: string | undefined; value: unknown; reason: string }[] = []
    for (const value of values) {
      const entry = readOutboxRecord(value)
      if (typeof entry !== 'string') entries.push(entry)
      else {
        const { key, doc } = value as { key: IDBValidKey; doc?: unknown }
        bad.push({ key, doc: typeof doc === 'string' ? doc : undefined, value, reason: entry })
      }
    }
    if (bad.length === 0) return entries
    await change(['outbox', 'quarantine'], (tx) => {
      for (const { key, doc, value, reason } of bad) {
        quarantine(tx, { store: 'outbox', key, value, reason, ...(doc === undefined ? {} : { doc }) })
        tx.objectStore('outbox').delete(key)
      }
    })
    throw corruptError(name, bad[0]!.doc ?? String(bad[0]!.key), 'An outbox entry')
  }

  return {
    name,
    async listDocs(conversation) {
      checkName(conversation, 'A conversation id')
      // '/' + 1 is '0': the range holds exactly the names that start with `<conversation>/`.
      const range = KeyRange.bound(`${conversation}/`, `${conversation}0`, false, true)
      const pairs = await conn.use((db) =>
        transact(db, ['docs'], 'readonly', (tx) => idb.getAllKeysValues(tx.objectStore('docs'), range)),
      )
      const list: DocInfo[] = []
      const bad: string[] = []
      for (const { k, v } of pairs) {
        if (isDocRecord(v)) list.push({ doc: k, updates: v.updates, messages: v.messages, newest: v.newest })
        else bad.push(k)
      }
      if (bad.length === 0) return list
      // Rebuild the records from their rows (counts of messages are lost), keep the old ones aside.
      await change(UPDATES_DOCS, async (tx) => {
        const states = await Promise.all(bad.map((doc) => readDoc(tx, rows(doc), doc)))
        for (const [i, state] of states.entries()) putDoc(tx, bad[i]!, state)
      })
      throw corruptError(name, bad[0]!, 'The doc record')
    },

    async load(doc) {
      checkName(doc, 'A doc name')
      return loadRows(doc)
    },

    async write(batch) {
      if (conn.closed) throw closedError(name)
      conn.checkWritable()
      const checked = checkBatch(batch)
      // Checked again once the database is open: the lock may be lost while it opens.
      await conn.use((db) => {
        conn.checkWritable()
        return cache.write(db, conn.exclusive, (known) =>
          transact(db, ALL_STORES, 'readwrite', (tx) => writeBatch(tx, KeyRange, checked, known)),
        )
      })
    },

    async getMeta(key) {
      checkName(key, 'A meta key')
      const value = await conn.use((db) =>
        transact(db, ['meta'], 'readonly', (tx) => request(tx.objectStore('meta').get(key))),
      )
      if (value === undefined || typeof value === 'string') return value
      await change(['meta', 'quarantine'], async (tx) => {
        const meta = tx.objectStore('meta')
        const now = await request(meta.get(key))
        if (now === undefined || typeof now === 'string') return
        quarantine(tx, { store: 'meta', key, value: now, reason: 'meta value is not a string' })
        meta.delete(key)
      })
      throw corruptError(name, key, 'The meta value')
    },

    async outbox() {
      const values = await conn.use((db) =>
        transact(db, ['outbox'], 'readonly', (tx) =>
          request(tx.objectStore('outbox').index('order').getAll()),
        ),
      )
      return checkedOutbox(values)
    },

    async outboxDocs() {
      return conn.use((db) =>
        transact(db, ['outbox'], 'readonly', (tx) => uniqueKeys(tx.objectStore('outbox').index('doc'))),
      )
    },

    async outboxOf(doc) {
      checkName(doc, 'A doc name')
      const values = await conn.use((db) =>
        transact(db, ['outbox'], 'readonly', (tx) =>
          request(tx.objectStore('outbox').index('doc').getAll(doc)),
        ),
      )
      // The `doc` index orders a doc's records by primary key; the write order is `order`.
      const order = (value: unknown) => (value as { order?: number }).order ?? 0
      return checkedOutbox([...values].sort((a, b) => order(a) - order(b)))
    },

    async compact(doc) {
      checkName(doc, 'A doc name')
      conn.checkWritable()
      // Read, merge and compress outside any transaction (IndexedDB would commit one that waits on
      // a stream), then swap in one transaction: a crash or an abort leaves the old rows or the
      // merged one. Rows written meanwhile stay; if any row read is gone (a drop, another
      // compaction), nothing changes.
      const good = await loadRows(doc)
      if (good.length < 2) return
      const merged = mergeStoredRows(
        doc,
        good.map((r) => r.update),
      )
      const value = await pack(merged, compressAbove)
      const last = good.at(-1)!.n
      await change(
        UPDATES_DOCS,
        async (tx) => {
          const updates = tx.objectStore('updates')
          const [state, count] = await Promise.all([
            readDoc(tx, rows(doc), doc),
            request(updates.count(rowsUpTo(doc, last))),
          ])
          if (count !== good.length) return
          updates.delete(rowsUpTo(doc, last))
          updates.add(value, [doc, state.record.next])
          const updatesLeft = state.record.updates - good.length + 1
          state.record = { ...state.record, updates: updatesLeft, next: state.record.next + 1 }
          putDoc(tx, doc, state)
        },
        doc,
      )
    },

    async setAside(doc, numbers, reason) {
      checkName(doc, 'A doc name')
      const wanted = new Set(numbers)
      await change(
        UPDATES_DOCS,
        async (tx) => {
          const [state, { good }] = await Promise.all([readDoc(tx, rows(doc), doc), readRows(tx, rows(doc))])
          const aside = good
            .filter((row) => wanted.has(row.n))
            .map(({ key, value }) => ({ key, value, reason }))
          if (aside.length > 0) quarantineRows(tx, doc, state, aside)
        },
        doc,
      )
    },

    async drop(doc) {
      checkName(doc, 'A doc name')
      await change(
        ALL_STORES,
        async (tx) => {
          tx.objectStore('updates').delete(rows(doc))
          tx.objectStore('docs').delete(doc)
          const outbox = tx.objectStore('outbox')
          const held = tx.objectStore('quarantine')
          const [entries, setAside] = await Promise.all([
            request(outbox.index('doc').getAllKeys(doc)),
            request(held.index('doc').getAllKeys(doc)),
          ])
          for (const key of entries) outbox.delete(key)
          for (const key of setAside) held.delete(key)
        },
        doc,
      )
    },

    close: () => conn.close(),
  }
}
