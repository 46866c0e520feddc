import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import {
  checkClaims,
  type DocInfo,
  GroupCommit,
  mergeStoredRows,
  NameLocks,
  type OutboxEntry,
  queueCheckedWrite,
  type StorageAdapter,
  type StoredUpdate,
  TidingsError,
  type WriteBatch,
} from '@tidings/core'
import Database from 'better-sqlite3'
import { crc32 } from './checksum.js'
import { closedError, toTidingsError } from './errors.js'
import { readOutboxRows } from './outbox-rows.js'
import {
  type DecodedRow,
  decodeRow,
  type EncodedRow,
  encodeCompactedRow,
  encodeRow,
  MAX_ROW_BYTES,
} from './rows.js'
import { prepareDatabase } from './schema.js'
import { type OutboxColumns, prepareStatements } from './statements.js'

/**
 * When `write()` may resolve.
 * - `'full'` (default): after the commit is fsynced (`synchronous=FULL`, and `fullfsync` on macOS).
 *   A resolved write survives a crash of the process, the OS, or the power.
 * - `'normal'`: after the commit reached the OS (`synchronous=NORMAL`). A resolved write survives a
 *   crash of the process; a power cut or OS crash may lose the last commits, never corrupt the file.
 */
export type Durability = 'full' | 'normal'

/** Options of `sqliteStorage`. */
export interface SqliteStorageOptions {
  /** Database file, created with its folder when missing. */
  readonly path: string
  /** When `write()` resolves; see {@link Durability}. Default `'full'`. */
  readonly durability?: Durability
  /** Deflate compacted rows of at least this many bytes (default 1024); `false` stores them raw. */
  readonly compressAbove?: number | false
  /**
   * The largest update a compressed row may inflate to (default 256 MiB): a row that would inflate
   * past it is refused as `storage/corrupt` and set aside, before it takes the memory.
   */
  readonly maxRowBytes?: number
  /** How long to wait for a file another connection holds before `storage/locked`, in ms (default 2000). */
  readonly busyTimeout?: number
}

/** A `StorageAdapter` on one SQLite file. */
export interface SqliteStorage extends StorageAdapter {
  readonly path: string
  /**
   * The better-sqlite3 connection, for diagnostics and pragmas such as `max_page_count`.
   * @remarks Change the tables only through the adapter: it keeps counts and checksums in step.
   */
  readonly database: Database.Database
}

interface BadRow {
  readonly n: number
  readonly blob: Uint8Array | null
  readonly reason: string
}

/**
 * Storage in one SQLite file (better-sqlite3, WAL): for Node, Electron and the Tidings server.
 * @remarks Opens the file at once and throws `storage/locked` when another connection holds it,
 * `storage/corrupt` when it is not a Tidings database or comes from a newer version.
 */
export const sqliteStorage = (options: SqliteStorageOptions): SqliteStorage => {
  const { path } = options
  const durability = options.durability ?? 'full'
  if (durability !== 'full' && durability !== 'normal')
    throw new TidingsError(
      'input/invalid',
      `durability must be 'full' or 'normal', not ${String(durability)}.`,
    )
  const compressAbove = options.compressAbove === false ? undefined : (options.compressAbove ?? 1024)
  const maxRowBytes = options.maxRowBytes ?? MAX_ROW_BYTES
  const fail = (error: unknown, subject?: string) => toTidingsError(error, path, subject)

  let db: Database.Database
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    db = new Database(path, { timeout: options.busyTimeout ?? 2000 })
  } catch (error) {
    throw fail(error)
  }
  try {
    prepareDatabase(db, { synchronous: durability === 'full' ? 'FULL' : 'NORMAL', exclusive: true })
  } catch (error) {
    db.close()
    throw fail(error)
  }
  const st = prepareStatements(db)
  let closed = false

  const applyBatch = (batch: WriteBatch) => {
    for (const u of batch.updates ?? []) {
      const { n } = st.upsertDoc.get(u.doc, u.messages ?? 0, u.newest ?? 0)!
      // Rows written here are small deltas: compressing them would cost more than it saves.
      const row = encodeRow(u.update)
      st.insertRow.run(u.doc, n, row.blob, row.codec, row.size, row.crc)
    }
    for (const [key, value] of Object.entries(batch.meta ?? {})) {
      if (value === null) st.deleteMeta.run(key)
      else st.setMeta.run(key, value)
    }
    for (const e of batch.outbox ?? [])
      st.upsertOutbox.run(e.key, e.doc, e.lane, e.update, JSON.stringify(e.messages), crc32(e.update))
    for (const key of batch.acked ?? []) st.deleteOutbox.run(key)
  }
  const commitGroup = db.transaction((batches: readonly WriteBatch[]) => {
    for (const batch of batches) applyBatch(batch)
  })
  const writes = new GroupCommit<WriteBatch>((batches) => commitGroup.immediate(batches), fail)

  const quarantineTransaction = db.transaction((doc: string, bad: readonly BadRow[]) => {
    for (const row of bad) {
      st.quarantine.run('updates', doc, row.n, null, row.blob, row.reason, Date.now())
      st.deleteRow.run(doc, row.n)
      st.rowRemoved.run(doc)
    }
  })
  const quarantineRows = (doc: string, bad: readonly BadRow[]) => {
    // close() may have come while rows inflated on the thread pool.
    if (closed) throw closedError(path)
    quarantineTransaction(doc, bad)
  }
  const corrupt = (doc: string, bad: readonly { n?: number; reason: string }[], what: string) =>
    new TidingsError(
      'storage/corrupt',
      `${bad.length} stored ${what} of ${doc} failed the integrity check (${bad
        .map((b) => (b.n === undefined ? b.reason : `row ${b.n}: ${b.reason}`))
        .join('; ')}). They were moved to the quarantine table of ${path}; the rest of ${doc} still loads.`,
      { subject: doc },
    )

  /** Reads and checks a doc's rows (inflating on the thread pool); the bad ones are set apart. */
  const readRows = async (doc: string, after = 0) => {
    const records = st.selectRows.all(doc, after)
    const decoded: (DecodedRow | Promise<DecodedRow>)[] = records.map((r) => decodeRow(r, maxRowBytes))
    const good: StoredUpdate[] = []
    const bad: BadRow[] = []
    for (const [i, row] of records.entries()) {
      const d = await decoded[i]!
      if ('update' in d) good.push({ n: row.n, update: d.update })
      else bad.push({ n: row.n, blob: row.blob, reason: d.reason })
    }
    return { good, bad }
  }

  /** A doc's good rows after row `after`; bad rows are quarantined and reported as corrupt. */
  const loadRows = async (doc: string, after: number) => {
    checkName(doc, 'A doc name')
    const { good, bad } = await readRows(doc, after)
    if (bad.length === 0) return good
    quarantineRows(doc, bad)
    throw corrupt(doc, bad, 'update(s)')
  }

  /**
   * Swaps the rows a compaction read (every row of `doc` up to `last`, `count` of them) for the
   * merged one, in one transaction. False when some of them are gone (another compaction, a drop
   * or a quarantine came first): then nothing changes.
   */
  const replaceRows = db.transaction((doc: string, last: number, count: number, row: EncodedRow) => {
    if (st.countRowsUpTo.get(doc, last)!.n !== count) return false
    st.deleteRowsUpTo.run(doc, last)
    const { n } = st.compacted.get(count - 1, doc)!
    st.insertRow.run(doc, n, row.blob, row.codec, row.size, row.crc)
    return true
  })

  /**
   * Reads, merges and compresses outside any transaction, so deflating a large doc on the thread
   * pool never holds the write lock nor blocks the event loop; then commits the swap atomically.
   * @remarks Rows written meanwhile are kept as they are and load before the merged row, which
   * takes the next row number (Yjs updates commute).
   */
  const compactDoc = async (doc: string): Promise<readonly BadRow[]> => {
    const { good, bad } = await readRows(doc)
    if (bad.length > 0) {
      quarantineRows(doc, bad)
      return bad
    }
    if (good.length < 2) return []
    const merged = mergeStoredRows(
      doc,
      good.map((r) => r.update),
    )
    const row = await encodeCompactedRow(merged, compressAbove)
    if (closed) throw closedError(path)
    replaceRows.immediate(doc, good.at(-1)!.n, good.length, row)
    return []
  }

  const dropDoc = db.transaction((doc: string) => {
    st.deleteRows.run(doc)
    st.deleteDoc.run(doc)
    st.deleteOutboxOfDoc.run(doc)
    st.deleteQuarantineOfDoc.run(doc)
  })

  const quarantineOutbox = db.transaction(
    (bad: readonly { key: string; doc: string; blob: Uint8Array | null; reason: string }[]) => {
      for (const row of bad) {
        st.quarantine.run('outbox', row.doc, null, row.key, row.blob, row.reason, Date.now())
        st.deleteOutbox.run(row.key)
      }
    },
  )

  /** Outbox entries of rows that pass their checks; the others are quarantined and reported. */
  const checkedOutbox = (rows: readonly OutboxColumns[]): OutboxEntry[] => {
    const { entries, bad } = readOutboxRows(rows)
    if (bad.length === 0) return entries
    quarantineOutbox(bad)
    throw corrupt(bad[0]!.doc, bad, 'outbox entr(ies)')
  }

  /** Runs a call after every queued write has committed, so reads see earlier writes. */
  const run = async <T>(fn: () => T | Promise<T>, subject?: string): Promise<T> => {
    if (closed) throw closedError(path)
    try {
      writes.flush()
      return await fn()
    } catch (error) {
      throw fail(error, subject)
    }
  }

  const claim = db.transaction((claims: Readonly<Record<string, string>>) => {
    const held = new Map<string, string>()
    for (const [key, value] of Object.entries(claims)) {
      st.claimMeta.run(key, value)
      held.set(key, st.getMeta.get(key)!.value)
    }
    return held
  })
  // One process owns the file (exclusive locking), so locks in this process exclude everyone.
  const locks = new NameLocks()

  const checkName = (name: unknown, what: string) => {
    if (typeof name !== 'string') throw new TidingsError('input/invalid', `${what} must be a string.`)
  }

  return {
    path,
    database: db,
    listDocs(conversation) {
      return run(() => {
        checkName(conversation, 'A conversation id')
        // '/' + 1 is '0': the range holds exactly the names that start with `<conversation>/`.
        const rows = st.listDocs.all(`${conversation}/`, `${conversation}0`)
        const list: DocInfo[] = rows.map((r) => ({
          doc: r.doc,
          updates: r.updates,
          messages: r.messages,
          newest: r.newest,
        }))
        return list.sort((a, b) => (a.doc < b.doc ? -1 : a.doc > b.doc ? 1 : 0))
      })
    },
    load(doc) {
      return run(() => loadRows(doc, 0), doc)
    },
    loadAfter(doc, after) {
      return run(() => {
        if (typeof after !== 'number' || Number.isNaN(after))
          throw new TidingsError('input/invalid', 'loadAfter needs a row number.')
        return loadRows(doc, after)
      }, doc)
    },
    claimMeta(claims) {
      return run(() => {
        checkClaims(claims)
        return claim.immediate(claims)
      })
    },
    withLock(names, fn) {
      if (closed) return Promise.reject(closedError(path))
      return locks.run(names, fn)
    },
    write(batch) {
      if (closed) return Promise.reject(closedError(path))
      return queueCheckedWrite(writes, batch)
    },
    getMeta(key) {
      return run(() => {
        checkName(key, 'A meta key')
        return st.getMeta.get(key)?.value
      })
    },
    outbox() {
      return run(() => checkedOutbox(st.selectOutbox.all()))
    },
    outboxDocs() {
      return run(() => st.outboxDocs.all().map((r) => r.doc))
    },
    outboxOf(doc) {
      return run(() => {
        checkName(doc, 'A doc name')
        return checkedOutbox(st.selectOutboxOf.all(doc))
      }, doc)
    },
    compact(doc) {
      return run(async () => {
        checkName(doc, 'A doc name')
        const bad = await compactDoc(doc)
        if (bad.length > 0) throw corrupt(doc, bad, 'update(s)')
      }, doc)
    },
    setAside(doc, rows, reason) {
      return run(() => {
        checkName(doc, 'A doc name')
        const wanted = new Set(rows)
        const bad = st.selectRows
          .all(doc, 0)
          .filter((row) => wanted.has(row.n))
          .map((row) => ({ n: row.n, blob: row.blob, reason }))
        if (bad.length > 0) quarantineRows(doc, bad)
      }, doc)
    },
    drop(doc) {
      return run(() => {
        checkName(doc, 'A doc name')
        dropDoc(doc)
        // Freed pages go back to the file system now, not at the next VACUUM: retention frees space.
        // The drop has committed by here, so a failure to shrink must not report it as failed.
        try {
          db.pragma('incremental_vacuum')
          db.pragma('wal_checkpoint(TRUNCATE)')
        } catch {}
      }, doc)
    },
    async close() {
      if (closed) return
      try {
        writes.flush()
      } finally {
        closed = true
        db.close()
      }
    },
  }
}
