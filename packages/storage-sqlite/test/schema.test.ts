import { crc32 } from 'node:zlib'
import { SCHEMA_VERSION, sqliteStorage } from '@tidings/storage-sqlite'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { crc32Fallback } from '../src/checksum.js'
import { MIGRATIONS, type Migration, migrate } from '../src/schema.js'
import { bytes, noise, useTempDir } from './helpers.js'

const tempPath = useTempDir()

/** Schema version 1 as shipped, frozen here so an edit of the shipped step shows up as a failure. */
const V1 = `
  CREATE TABLE updates (doc TEXT NOT NULL, n INTEGER NOT NULL, blob BLOB NOT NULL, codec INTEGER NOT NULL,
    size INTEGER NOT NULL, crc INTEGER NOT NULL, PRIMARY KEY (doc, n));
  CREATE TABLE docs (doc TEXT PRIMARY KEY, updates INTEGER NOT NULL, messages INTEGER NOT NULL,
    newest INTEGER NOT NULL, next_n INTEGER NOT NULL);
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE outbox (key TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, doc TEXT NOT NULL, lane TEXT NOT NULL,
    "update" BLOB NOT NULL, messages TEXT NOT NULL, crc INTEGER NOT NULL);
  CREATE INDEX outbox_doc ON outbox (doc);
  CREATE TABLE quarantine (id INTEGER PRIMARY KEY, source TEXT NOT NULL, doc TEXT NOT NULL, n INTEGER, key TEXT,
    blob BLOB, reason TEXT NOT NULL, at INTEGER NOT NULL);
  CREATE INDEX quarantine_doc ON quarantine (doc);
  PRAGMA user_version = 1;
`

const columns = (db: Database.Database) =>
  Object.fromEntries(
    (
      db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .pluck()
        .all() as string[]
    ).map((table) => [table, (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name)]),
  )

/** A version-1 file written with raw SQL, as an older release (or another tool) left it. */
const writeV1File = (path: string) => {
  const db = new Database(path)
  db.exec(V1)
  const blob = noise(64, 9)
  db.prepare("INSERT INTO updates VALUES ('room/meta', 1, ?, 0, ?, ?)").run(blob, blob.length, crc32(blob))
  db.prepare("INSERT INTO docs VALUES ('room/meta', 1, 0, 0, 2)").run()
  db.prepare("INSERT INTO meta VALUES ('device', 'dev1')").run()
  const update = bytes(7, 7)
  db.prepare(`INSERT INTO outbox VALUES ('dev1:1', 1, 'room/meta', 'meta', ?, '["dev1.1"]', ?)`).run(
    update,
    crc32(update),
  )
  db.close()
  return blob
}

describe('schema', () => {
  it('creates a new file at the current version with WAL and incremental auto-vacuum', async () => {
    const path = tempPath()
    const store = sqliteStorage({ path })
    expect(store.database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
    expect(store.database.pragma('auto_vacuum', { simple: true })).toBe(2)
    expect(store.database.pragma('journal_mode', { simple: true })).toBe('wal')
    await store.close()
    const db = new Database(path)
    const v1 = new Database(':memory:')
    v1.exec(V1)
    // The frozen copy and the shipped step must describe the same tables while version 1 is current.
    if (SCHEMA_VERSION === 1) expect(columns(db)).toEqual(columns(v1))
    db.close()
    v1.close()
  })

  it('opens a version-1 file made with raw SQL and reads what it holds', async () => {
    const path = tempPath()
    const blob = writeV1File(path)
    const store = sqliteStorage({ path })
    expect(store.database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
    // The raw file had no auto-vacuum; opening converts it, so drops free space there too.
    expect(store.database.pragma('auto_vacuum', { simple: true })).toBe(2)
    expect(await store.load('room/meta')).toEqual([{ n: 1, update: blob }])
    expect(await store.getMeta('device')).toBe('dev1')
    expect(await store.outbox()).toEqual([
      { key: 'dev1:1', doc: 'room/meta', lane: 'meta', update: bytes(7, 7), messages: ['dev1.1'] },
    ])
    await store.write({ updates: [{ doc: 'room/meta', update: bytes(1) }] })
    expect((await store.load('room/meta')).map((r) => r.n)).toEqual([1, 2])
    await store.close()
  })

  it('runs later steps in order, one transaction each, and resumes after a failed step', () => {
    const path = tempPath()
    writeV1File(path)
    const db = new Database(path)
    const v2: Migration = (d) => d.exec('ALTER TABLE docs ADD COLUMN title TEXT')
    const broken: Migration = (d) => {
      d.exec('CREATE TABLE half_done (x)')
      throw new Error('crashed mid-step')
    }
    expect(() => migrate(db, [...MIGRATIONS, v2, broken])).toThrow(/crashed mid-step/)
    // Step 2 committed; step 3 left nothing behind.
    expect(db.pragma('user_version', { simple: true })).toBe(2)
    expect(columns(db).docs).toContain('title')
    expect(columns(db).half_done).toBeUndefined()
    migrate(db, [...MIGRATIONS, v2, (d) => d.exec('CREATE TABLE done (x)')])
    expect(db.pragma('user_version', { simple: true })).toBe(3)
    expect(columns(db).done).toEqual(['x'])
    db.close()
  })

  it('refuses a file from a newer schema instead of guessing', () => {
    const path = tempPath()
    const db = new Database(path)
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    db.close()
    expect(() => sqliteStorage({ path })).toThrow(expect.objectContaining({ code: 'storage/corrupt' }))
    expect(() => sqliteStorage({ path })).toThrow(/newer/)
  })

  it('computes the same CRC-32 in its fallback as zlib', () => {
    for (const data of [new Uint8Array(0), bytes(1, 2, 3), noise(4099, 5)])
      expect(crc32Fallback(data)).toBe(crc32(data))
    // Continuing a CRC, as a deflated row's checksum does over its codec marker.
    expect(crc32Fallback(bytes(1), crc32Fallback(bytes(7, 8)))).toBe(crc32(bytes(7, 8, 1)))
  })
})
