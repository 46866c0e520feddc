import {
  type DocInfo,
  mergeUpdatesTree,
  type OutboxEntry,
  type StorageAdapter,
  TidingsError,
} from '@tidings/core'
import * as idb from 'lib0/indexeddb'
import { connect } from './connection.js'
import { closedError, corruptError } from './errors.js'
import { isDocRecord, readOutboxRecord } from './records.js'
import { putDoc, quarantine, quarantineRows, readDoc, readRows, rowRange } from './rows.js'
import { ALL_STORES } from './schema.js'
import { request, transact, uniqueKeys } from './transaction.js'
import { checkBatch, checkName } from './validate.js'
import { defaultLocks, type LockManagerLike } from './web-lock.js'
import { writeBatch } from './write-batch.js'

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
  const rows = (doc: string) => rowRange(KeyRange, doc)

  /** Moves a doc's malformed rows aside, in a transaction of its own, and returns the error to throw. */
  const setRowsAside = async (doc: string) => {
    await conn.use(
      (db) =>
        transact(db, UPDATES_DOCS, 'readwrite', async (tx) => {
          const [state, { bad }] = await Promise.all([readDoc(tx, rows(doc), doc), readRows(tx, rows(doc))])
          if (bad.length > 0) quarantineRows(tx, doc, state, bad)
        }),
      doc,
    )
    return corruptError(name, doc, 'A stored update')
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
    await conn.use((db) =>
      transact(db, ['outbox', 'quarantine'], 'readwrite', (tx) => {
        for (const { key, doc, value, reason } of bad) {
          quarantine(tx, { store: 'outbox', key, value, reason, ...(doc === undefined ? {} : { doc }) })
          tx.objectStore('outbox').delete(key)
        }
      }),
    )
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
      await conn.use((db) =>
        transact(db, UPDATES_DOCS, 'readwrite', async (tx) => {
          const states = await Promise.all(bad.map((doc) => readDoc(tx, rows(doc), doc)))
          for (const [i, state] of states.entries()) putDoc(tx, bad[i]!, state)
        }),
      )
      throw corruptError(name, bad[0]!, 'The doc record')
    },

    async load(doc) {
      checkName(doc, 'A doc name')
      const { good, bad } = await conn.use(
        (db) => transact(db, ['updates'], 'readonly', (tx) => readRows(tx, rows(doc))),
        doc,
      )
      if (bad.length === 0) return good
      throw await setRowsAside(doc)
    },

    async write(batch) {
      if (conn.closed) throw closedError(name)
      const checked = checkBatch(batch)
      await conn.use((db) => transact(db, ALL_STORES, 'readwrite', (tx) => writeBatch(tx, KeyRange, checked)))
    },

    async getMeta(key) {
      checkName(key, 'A meta key')
      const value = await conn.use((db) =>
        transact(db, ['meta'], 'readonly', (tx) => request(tx.objectStore('meta').get(key))),
      )
      if (value === undefined || typeof value === 'string') return value
      await conn.use((db) =>
        transact(db, ['meta', 'quarantine'], 'readwrite', async (tx) => {
          const meta = tx.objectStore('meta')
          const now = await request(meta.get(key))
          if (now === undefined || typeof now === 'string') return
          quarantine(tx, { store: 'meta', key, value: now, reason: 'meta value is not a string' })
          meta.delete(key)
        }),
      )
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
      // Read, merge (synchronously), delete and write in one transaction: a crash or an abort at any
      // point leaves the old rows or the merged one, and no other write can slip in between.
      const corrupt = await conn.use(
        (db) =>
          transact(db, UPDATES_DOCS, 'readwrite', async (tx) => {
            const [state, { good, bad }] = await Promise.all([
              readDoc(tx, rows(doc), doc),
              readRows(tx, rows(doc)),
            ])
            if (bad.length > 0) {
              quarantineRows(tx, doc, state, bad)
              return true
            }
            if (good.length < 2) return false
            let merged: Uint8Array
            try {
              merged = mergeUpdatesTree(good.map((r) => r.update))
            } catch (cause) {
              throw new TidingsError('storage/corrupt', `The stored updates of ${doc} cannot be merged.`, {
                subject: doc,
                cause,
              })
            }
            const updates = tx.objectStore('updates')
            updates.delete(rows(doc))
            updates.add(merged, [doc, state.record.next])
            state.record = { ...state.record, updates: 1, next: state.record.next + 1 }
            putDoc(tx, doc, state)
            return false
          }),
        doc,
      )
      if (corrupt) throw corruptError(name, doc, 'A stored update')
    },

    async drop(doc) {
      checkName(doc, 'A doc name')
      await conn.use(
        (db) =>
          transact(db, ALL_STORES, 'readwrite', async (tx) => {
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
          }),
        doc,
      )
    },

    close: () => conn.close(),
  }
}
