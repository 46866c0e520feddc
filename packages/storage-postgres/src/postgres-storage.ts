import {
  checkClaims,
  type DocInfo,
  GroupCommit,
  type Lane,
  mergeStoredRows,
  NameLocks,
  type OutboxEntry,
  queueCheckedWrite,
  type StorageAdapter,
  type StoredUpdate,
  TidingsError,
  type WriteBatch,
} from '@tidings/core'
import pg from 'pg'
import { openDatabase } from './database.js'
import { closedError, toTidingsError } from './errors.js'
import { lockKey } from './locks.js'
import { quote, SCHEMA_NAME } from './schema.js'
import { type Statements, statements } from './sql.js'

/** Options of `postgresStorage`: a connection URL or a pool of your own. */
export type PostgresStorageOptions = (
  | {
      /** `postgres://user@host:port/database`; the adapter opens (and closes) a pool on it. */
      readonly url: string
      /** Connections of that pool (default 10). */
      readonly max?: number
    }
  | {
      /** A pool the app owns: the adapter never ends it. */
      readonly pool: pg.Pool
    }
) & {
  /** Schema holding the tables, created on first use (default `tidings`). */
  readonly schema?: string
}

/** A `StorageAdapter` on PostgreSQL that several server processes share. */
export interface PostgresStorage extends StorageAdapter {
  readonly schema: string
  /** The pool in use, for diagnostics. Change the tables only through the adapter: it keeps counts in step. */
  readonly pool: pg.Pool
  /** Creates or upgrades the schema now; every other call waits for it anyway. */
  ready(): Promise<void>
  /** Transactions `write` attempted so far, to measure how well writes group. */
  readonly transactions: number
  loadAfter(doc: string, after: number): Promise<StoredUpdate[]>
  claimMeta(claims: Readonly<Record<string, string>>): Promise<ReadonlyMap<string, string>>
  withLock<T>(names: readonly string[], fn: () => Promise<T>): Promise<T>
}

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()
/** A plain Uint8Array copy: callers own what they get, and Buffer's quirks stay inside. */
const ownBytes = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes)

const checkName = (name: unknown, what: string) => {
  if (typeof name !== 'string') throw new TidingsError('input/invalid', `${what} must be a string.`)
}

/** Where a pool points, without the password, for messages. */
const describe = (options: PostgresStorageOptions, schema: string): string => {
  if (!('url' in options)) return `schema ${schema}`
  try {
    const url = new URL(options.url)
    url.password = ''
    return `${url.toString()} (schema ${schema})`
  } catch {
    return `schema ${schema}`
  }
}

/**
 * Storage in PostgreSQL (`pg`) for the Tidings server, shared by several server processes:
 * `write` commits each batch in one transaction and groups concurrent writes into one; `compact`
 * never runs on one doc in two processes at once; `claimMeta`, `loadAfter` and `withLock` give
 * processes first-writer-wins metadata, catch-up and per-doc serialization.
 * @remarks Returns at once: the schema is created on first use, and a database out of reach
 * rejects each call with `storage/unavailable` until it is back.
 */
export const postgresStorage = (options: PostgresStorageOptions): PostgresStorage => {
  const schema = options.schema ?? 'tidings'
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema))
    throw new TidingsError(
      'input/invalid',
      `schema must be a plain identifier (letters, digits, _; at most 63), not ${JSON.stringify(schema)}.`,
    )
  const ownPool = 'url' in options
  const max = ownPool ? (options.max ?? 10) : (options.pool.options.max ?? 10)
  // A lock holder keeps one connection while its `fn` writes through another.
  if (!Number.isInteger(max) || max < 2)
    throw new TidingsError('input/invalid', `The pool needs at least 2 connections (max), not ${max}.`)
  const pool = ownPool ? new pg.Pool({ connectionString: options.url, max }) : options.pool
  // An idle pooled connection that drops (a database restart) must not crash the process.
  if (ownPool) pool.on('error', () => {})
  const where = describe(options, schema)
  const fail = (error: unknown, subject?: string) => toTidingsError(error, where, subject)
  const sql: Statements = statements(quote(schema))
  const localLocks = new NameLocks()
  let closed = false
  const { ready, transaction, query, holdLocks } = openDatabase({ pool, schema, max, fail })

  const commitGroup = (batches: readonly WriteBatch[]) =>
    transaction(async (client) => {
      const updates = batches.flatMap((b) => b.updates ?? [])
      if (updates.length > 0)
        await client.query(sql.append, [
          updates.map((u) => u.doc),
          updates.map((u) => u.update),
          updates.map((u) => u.messages ?? 0),
          updates.map((u) => u.newest ?? 0),
        ])
      // Later batches of the group win, as they would committed one after another.
      const meta = new Map<string, string | null>()
      for (const b of batches) for (const [key, value] of Object.entries(b.meta ?? {})) meta.set(key, value)
      const sets = [...meta].filter((e): e is [string, string] => e[1] !== null)
      const deletes = [...meta].filter(([, value]) => value === null).map(([key]) => key)
      if (sets.length > 0)
        await client.query(sql.setMeta, [sets.map(([k]) => k), sets.map(([, v]) => utf8.encode(v))])
      if (deletes.length > 0) await client.query(sql.deleteMeta, [deletes])
      for (const b of batches) {
        for (const e of b.outbox ?? [])
          await client.query(sql.putOutbox, [e.key, e.doc, e.lane, e.update, JSON.stringify(e.messages)])
        if ((b.acked ?? []).length > 0) await client.query(sql.deleteOutbox, [b.acked])
      }
    })
  const writes = new GroupCommit<WriteBatch>(commitGroup, (error) => fail(error))

  /** Runs a call unless the store is closed, turning pg failures into TidingsErrors. */
  const run = async <T>(fn: () => Promise<T>, subject?: string): Promise<T> => {
    if (closed) throw closedError(where)
    try {
      return await fn()
    } catch (error) {
      throw fail(error, subject)
    }
  }

  const readRows = async (doc: string, after: number): Promise<StoredUpdate[]> => {
    const { rows } = await query<{ n: string; update: Buffer }>(sql.selectRows, [doc, after])
    return rows.map((r) => ({ n: Number(r.n), update: ownBytes(r.update) }))
  }

  const compactDoc = (doc: string) =>
    transaction(async (client) => {
      // Another process compacting this doc right now does the same work: leave it to that one.
      const lock = await client.query<{ got: boolean }>(sql.tryCompactLock, [lockKey(schema, 'compact', doc)])
      if (!lock.rows[0]?.got) return
      const { rows } = await client.query<{ n: string; update: Buffer }>(sql.selectRows, [doc, -1])
      if (rows.length < 2) return
      const merged = mergeStoredRows(
        doc,
        rows.map((r) => r.update),
      )
      // Only the rows read: rows other processes append meanwhile stay, after the merged one.
      const deleted = await client.query(sql.deleteRowsUpTo, [doc, rows[rows.length - 1]!.n])
      const next = await client.query<{ n: string }>(sql.compacted, [doc, deleted.rowCount ?? 0])
      const n = next.rows[0]?.n
      if (n !== undefined) await client.query(sql.insertRow, [doc, n, merged])
    })

  return {
    schema,
    pool,
    ready: () => run(ready),
    get transactions() {
      return writes.transactions
    },
    listDocs(conversation) {
      return run(async () => {
        checkName(conversation, 'A conversation id')
        const { rows } = await query<{ doc: string; updates: string; messages: number; newest: number }>(
          sql.listDocs,
          [`${conversation}/`, `${conversation}0`],
        )
        const list: DocInfo[] = rows.map((r) => ({
          doc: r.doc,
          updates: Number(r.updates),
          messages: r.messages,
          newest: r.newest,
        }))
        return list.sort((a, b) => (a.doc < b.doc ? -1 : a.doc > b.doc ? 1 : 0))
      })
    },
    load(doc) {
      return run(async () => {
        checkName(doc, 'A doc name')
        return readRows(doc, -1)
      }, doc)
    },
    loadAfter(doc, after) {
      return run(async () => {
        checkName(doc, 'A doc name')
        if (typeof after !== 'number' || Number.isNaN(after))
          throw new TidingsError('input/invalid', 'loadAfter needs a row number.')
        // Rows are numbered from 1 and stay below 2^53: clamp, so any number makes a valid int8.
        const cut = Math.max(-1, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(after)))
        return readRows(doc, cut)
      }, doc)
    },
    write(batch) {
      if (closed) return Promise.reject(closedError(where))
      return queueCheckedWrite(writes, batch)
    },
    getMeta(key) {
      return run(async () => {
        checkName(key, 'A meta key')
        const { rows } = await query<{ value: Buffer }>(sql.getMeta, [key])
        return rows[0] ? fromUtf8.decode(rows[0].value) : undefined
      })
    },
    claimMeta(claims) {
      return run(async () => {
        checkClaims(claims)
        const held = new Map<string, string>()
        let open = Object.entries(claims)
        // Each round inserts what is absent, then reads every key: a key deleted in between is
        // absent again and claimed again.
        while (open.length > 0) {
          const keys = open.map(([k]) => k)
          await query(sql.claimMeta, [keys, open.map(([, v]) => utf8.encode(v))])
          const { rows } = await query<{ key: string; value: Buffer }>(sql.getMetas, [keys])
          for (const row of rows) held.set(row.key, fromUtf8.decode(row.value))
          open = open.filter(([k]) => !held.has(k))
        }
        return held
      })
    },
    withLock(names, fn) {
      if (closed) return Promise.reject(closedError(where))
      // Callers in this process queue here first: only one of them at a time waits in PostgreSQL.
      return localLocks.run(names, () => holdLocks(names, fn))
    },
    outbox() {
      return run(async () => {
        const { rows } = await query<{
          key: string
          doc: string
          lane: string
          update: Buffer
          messages: string
        }>(sql.selectOutbox, [])
        return rows.map(
          (r): OutboxEntry => ({
            key: r.key,
            doc: r.doc,
            lane: r.lane as Lane | 'meta',
            update: ownBytes(r.update),
            messages: JSON.parse(r.messages) as string[],
          }),
        )
      })
    },
    compact(doc) {
      return run(async () => {
        checkName(doc, 'A doc name')
        await compactDoc(doc)
      }, doc)
    },
    drop(doc) {
      return run(async () => {
        checkName(doc, 'A doc name')
        await transaction(async (client) => {
          await client.query(sql.deleteRows, [doc])
          await client.query(sql.dropDoc, [doc])
          await client.query(sql.deleteOutboxOfDoc, [doc])
        })
      }, doc)
    },
    async close() {
      if (closed) return
      closed = true
      await writes.settled()
      if (ownPool) await pool.end().catch(() => {})
    },
  }
}
