import { TidingsError } from '@tidings/core'
import type Database from 'better-sqlite3'

/** One step of the schema: upgrades a database from version `index` to `index + 1`. */
export type Migration = (db: Database.Database) => void

/**
 * Every schema step since the first, in order; `PRAGMA user_version` counts how many ran.
 * @remarks A shipped step is never edited: files in the field were made by it. A change of schema
 * is a new step appended here (see README, "Schema").
 */
export const MIGRATIONS: readonly Migration[] = [
  // Version 1. `docs` carries each doc's counts so listDocs never reads blobs; `next_n` keeps row
  // numbers rising after compaction; `size` and `crc` let a load tell a truncated or flipped blob.
  (db) =>
    db.exec(`
      CREATE TABLE updates (
        doc TEXT NOT NULL,
        n INTEGER NOT NULL,
        blob BLOB NOT NULL,
        codec INTEGER NOT NULL,
        size INTEGER NOT NULL,
        crc INTEGER NOT NULL,
        PRIMARY KEY (doc, n)
      );
      CREATE TABLE docs (
        doc TEXT PRIMARY KEY,
        updates INTEGER NOT NULL,
        messages INTEGER NOT NULL,
        newest INTEGER NOT NULL,
        next_n INTEGER NOT NULL
      );
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE outbox (
        key TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        doc TEXT NOT NULL,
        lane TEXT NOT NULL,
        "update" BLOB NOT NULL,
        messages TEXT NOT NULL,
        crc INTEGER NOT NULL
      );
      CREATE INDEX outbox_doc ON outbox (doc);
      CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        doc TEXT NOT NULL,
        n INTEGER,
        key TEXT,
        blob BLOB,
        reason TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX quarantine_doc ON quarantine (doc);
    `),
]

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

const versionOf = (db: Database.Database) => db.pragma('user_version', { simple: true }) as number

/**
 * Brings a database up to `migrations.length`, one transaction per step, so a crash mid-way
 * leaves the file at the last finished version and the next open resumes from there.
 * @remarks A file from a newer schema is refused rather than guessed at.
 */
export const migrate = (db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): void => {
  const target = migrations.length
  const refuseNewer = (version: number) => {
    if (version > target) {
      throw new TidingsError(
        'storage/corrupt',
        `${db.name} has schema version ${version}, newer than ${target}, the newest this @tidings/storage-sqlite knows. Upgrade the package to open it.`,
        { subject: db.name },
      )
    }
  }
  refuseNewer(versionOf(db))
  for (;;) {
    // The version is read again inside the write lock: another connection may have migrated meanwhile.
    const done = db
      .transaction(() => {
        const version = versionOf(db)
        refuseNewer(version)
        if (version === target) return true
        migrations[version]!(db)
        db.pragma(`user_version = ${version + 1}`)
        return false
      })
      .immediate()
    if (done) return
  }
}

/** Sets the connection up: locking, WAL, fsync level, incremental vacuum, then the schema. */
export const prepareDatabase = (
  db: Database.Database,
  options: { synchronous: 'FULL' | 'NORMAL'; exclusive: boolean },
): void => {
  // Exclusive locking: a second process (or a second client in this one) on the same file would
  // reuse this device's seqs. It also keeps the WAL index in memory, with no -shm file.
  if (options.exclusive) db.pragma('locking_mode = EXCLUSIVE')
  const fresh = (db.prepare('SELECT count(*) AS n FROM sqlite_schema').get() as { n: number }).n === 0
  // auto_vacuum only takes effect on a database without tables; older files get it by a VACUUM below.
  if (fresh) db.pragma('auto_vacuum = INCREMENTAL')
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${options.synchronous}`)
  // macOS fsync does not flush the drive's cache; F_FULLFSYNC does. Ignored elsewhere.
  if (options.synchronous === 'FULL') db.pragma('fullfsync = ON')
  // The WAL file is reused, not shrunk, after a checkpoint; this caps what it keeps on disk.
  db.pragma('journal_size_limit = 4194304')
  migrate(db)
  if ((db.pragma('auto_vacuum', { simple: true }) as number) !== 2) {
    db.pragma('auto_vacuum = INCREMENTAL')
    db.exec('VACUUM')
  }
  // Take the write lock now rather than at the first write, so a second opener is told at once.
  if (options.exclusive) db.exec('BEGIN IMMEDIATE; COMMIT')
}
