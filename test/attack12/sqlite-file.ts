import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Client, createClient, type TidingsError } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { chatText } from '@tidings/testing'
import Database from 'better-sqlite3'
import { afterAll, afterEach } from 'vitest'

const dirs: string[] = []
const kept: string[] = []
const clients: Client[] = []
afterAll(() => {
  for (const dir of kept.splice(0)) rmSync(dir, { recursive: true, force: true })
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A fresh folder, removed after the test (`keep`: after the file, for a beforeAll fixture). */
export const tempDir = (keep = false) => {
  const dir = mkdtempSync(join(tmpdir(), 'attack12-'))
  if (keep) kept.push(dir)
  else dirs.push(dir)
  return dir
}

/** An offline client on the SQLite file at `path`, with every error it reports. */
export const offlineClient = (path: string) => {
  const client = createClient({ user: 'ann', storage: sqliteStorage({ path }) })
  clients.push(client)
  const errors: TidingsError[] = []
  client.on('error', (error) => errors.push(error))
  return { client, errors }
}

/** Copies a closed SQLite file (and any WAL beside it) to `to`. */
export const copyDb = (from: string, to: string) => {
  for (const suffix of ['', '-wal', '-shm'])
    if (existsSync(from + suffix)) copyFileSync(from + suffix, to + suffix)
}

/** Runs `fn` on the raw database file (the client must be closed). */
export const rawDb = <T>(path: string, fn: (db: Database.Database) => T): T => {
  const db = new Database(path)
  try {
    return fn(db)
  } finally {
    db.close()
  }
}

export const text = chatText(12)
