import type Database from 'better-sqlite3'
import type { RowRecord } from './rows.js'

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>

export interface DocColumns {
  doc: string
  updates: number
  messages: number
  newest: number
}

export interface OutboxColumns {
  key: string
  doc: string
  lane: string
  blob: Uint8Array | null
  messages: string
  crc: number
}

/** Every statement the adapter runs, prepared once per connection. */
export interface Statements {
  upsertDoc: Statement<[string, number, number], { n: number }>
  insertRow: Statement<[string, number, Uint8Array, number, number, number]>
  selectRows: Statement<[string, number], RowRecord>
  deleteRows: Statement<[string]>
  deleteRow: Statement<[string, number]>
  countRowsUpTo: Statement<[string, number], { n: number }>
  deleteRowsUpTo: Statement<[string, number]>
  compacted: Statement<[number, string], { n: number }>
  rowRemoved: Statement<[string]>
  listDocs: Statement<[string, string], DocColumns>
  deleteDoc: Statement<[string]>
  getMeta: Statement<[string], { value: string }>
  setMeta: Statement<[string, string]>
  claimMeta: Statement<[string, string]>
  deleteMeta: Statement<[string]>
  upsertOutbox: Statement<[string, string, string, Uint8Array, string, number]>
  selectOutbox: Statement<[], OutboxColumns>
  selectOutboxOf: Statement<[string], OutboxColumns>
  outboxDocs: Statement<[], { doc: string }>
  deleteOutbox: Statement<[string]>
  deleteOutboxOfDoc: Statement<[string]>
  quarantine: Statement<[string, string, number | null, string | null, Uint8Array | null, string, number]>
  deleteQuarantineOfDoc: Statement<[string]>
}

export const prepareStatements = (db: Database.Database): Statements => ({
  // RETURNING hands back the row number to use, so a write needs no separate read of `docs`.
  upsertDoc: db.prepare(`
    INSERT INTO docs (doc, updates, messages, newest, next_n) VALUES (?, 1, ?, ?, 2)
    ON CONFLICT (doc) DO UPDATE SET updates = updates + 1, messages = messages + excluded.messages,
      newest = max(newest, excluded.newest), next_n = abs(next_n) + 1
    RETURNING next_n - 1 AS n`),
  insertRow: db.prepare('INSERT INTO updates (doc, n, blob, codec, size, crc) VALUES (?, ?, ?, ?, ?, ?)'),
  selectRows: db.prepare('SELECT n, blob, codec, size, crc FROM updates WHERE doc = ? AND n > ? ORDER BY n'),
  deleteRows: db.prepare('DELETE FROM updates WHERE doc = ?'),
  deleteRow: db.prepare('DELETE FROM updates WHERE doc = ? AND n = ?'),
  countRowsUpTo: db.prepare('SELECT count(*) AS n FROM updates WHERE doc = ? AND n <= ?'),
  deleteRowsUpTo: db.prepare('DELETE FROM updates WHERE doc = ? AND n <= ?'),
  // Takes the count of rows a compaction merged, less the one it writes.
  compacted: db.prepare(
    'UPDATE docs SET updates = updates - ?, next_n = next_n + 1 WHERE doc = ? RETURNING next_n - 1 AS n',
  ),
  rowRemoved: db.prepare('UPDATE docs SET updates = updates - 1 WHERE doc = ?'),
  listDocs: db.prepare(
    'SELECT doc, updates, messages, newest FROM docs WHERE doc >= ? AND doc < ? AND next_n > 0',
  ),
  // The row stays, with next_n negated, so row numbers keep rising if the doc is written again.
  deleteDoc: db.prepare(
    'UPDATE docs SET updates = 0, messages = 0, newest = 0, next_n = -abs(next_n) WHERE doc = ?',
  ),
  getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
  setMeta: db.prepare(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  ),
  claimMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
  deleteMeta: db.prepare('DELETE FROM meta WHERE key = ?'),
  // A rewritten key keeps its place in the order, as a Map entry does in memory storage.
  upsertOutbox: db.prepare(`
    INSERT INTO outbox (key, seq, doc, lane, "update", messages, crc)
    VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM outbox), ?, ?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET doc = excluded.doc, lane = excluded.lane,
      "update" = excluded."update", messages = excluded.messages, crc = excluded.crc`),
  selectOutbox: db.prepare('SELECT key, doc, lane, "update" AS blob, messages, crc FROM outbox ORDER BY seq'),
  selectOutboxOf: db.prepare(
    'SELECT key, doc, lane, "update" AS blob, messages, crc FROM outbox WHERE doc = ? ORDER BY seq',
  ),
  // Hops from one doc to the next through the `outbox_doc` index: a step per doc, not per entry.
  outboxDocs: db.prepare(`
    WITH RECURSIVE d(doc) AS (
      SELECT min(doc) FROM outbox
      UNION ALL SELECT (SELECT min(doc) FROM outbox WHERE doc > d.doc) FROM d WHERE d.doc IS NOT NULL
    ) SELECT doc FROM d WHERE doc IS NOT NULL`),
  deleteOutbox: db.prepare('DELETE FROM outbox WHERE key = ?'),
  deleteOutboxOfDoc: db.prepare('DELETE FROM outbox WHERE doc = ?'),
  quarantine: db.prepare(
    'INSERT INTO quarantine (source, doc, n, key, blob, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  ),
  deleteQuarantineOfDoc: db.prepare('DELETE FROM quarantine WHERE doc = ?'),
})
