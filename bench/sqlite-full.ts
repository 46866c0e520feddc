import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient, type StorageAdapter } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import Database from 'better-sqlite3'
import { ONE_PERIOD_MS } from './engines.js'
import { messageKey, messageRecord, messageText, now, USER } from './workload.js'

/** One rep of a burst of durable sends: how long it took, and how the writes grouped. */
export interface BurstRep {
  readonly wall: number
  readonly cpu: number
  readonly messages: number
  /** Storage writes the client issued during the burst (sends, plus receipts and compactions). */
  readonly writes: number
  /** Turns of the event loop in which writes were issued: the group commit's transactions. */
  readonly groups: number
}

const cpuMs = () => {
  const used = process.cpuUsage()
  return (used.user + used.system) / 1000
}

const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-bench-full-'))
  return { dir, path: join(dir, 'bench.sqlite') }
}

/**
 * Counts writes, and the turns of the event loop they were issued in: `@tidings/storage-sqlite`
 * commits the writes of one turn in one transaction (its group commit flushes on setImmediate).
 */
const counting = (storage: StorageAdapter) => {
  const counts = { writes: 0, groups: 0 }
  let open = false
  const counted: StorageAdapter = {
    ...storage,
    write: (batch) => {
      counts.writes++
      if (!open) {
        open = true
        counts.groups++
        setImmediate(() => {
          open = false
        })
      }
      return storage.write(batch)
    },
  }
  return { counted, counts }
}

/**
 * Tidings on SQLite with synchronous=FULL (durability 'full', the default): `messages` sends issued
 * at once without awaiting each, then awaited together, as an app sending a burst does.
 */
export const tidingsBurst = async (messages: number): Promise<BurstRep> => {
  const { dir, path } = tempFile()
  const storage = sqliteStorage({ path, durability: 'full' })
  const { counted, counts } = counting(storage)
  const client = createClient({ user: USER, storage: counted, periodMs: ONE_PERIOD_MS })
  const convo = await client.open('bench-full')
  await Promise.all(Array.from({ length: 50 }, (_, i) => convo.send({ text: messageText(i + 1) })))
  counts.writes = 0
  counts.groups = 0
  const cpu = cpuMs()
  const start = now()
  const sends: Promise<unknown>[] = []
  for (let i = 51; i <= 50 + messages; i++) sends.push(convo.send({ text: messageText(i) }))
  await Promise.all(sends)
  const wall = now() - start
  const rep = { wall, cpu: cpuMs() - cpu, messages, writes: counts.writes, groups: counts.groups }
  await client.close()
  rmSync(dir, { recursive: true, force: true })
  return rep
}

/**
 * Raw better-sqlite3 at the same setting as the adapter (WAL, synchronous=FULL, exclusive
 * locking): one INSERT of the message's record per row, `perTransaction` rows per transaction.
 */
export const rawBurst = async (messages: number, perTransaction: number): Promise<BurstRep> => {
  const { dir, path } = tempFile()
  const db = new Database(path)
  db.pragma('locking_mode = EXCLUSIVE')
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec('CREATE TABLE messages (id TEXT PRIMARY KEY, record TEXT NOT NULL)')
  const insert = db.prepare('INSERT INTO messages (id, record) VALUES (?, ?)')
  const commit = db.transaction((from: number, to: number) => {
    for (let i = from; i <= to; i++) insert.run(messageKey(i), JSON.stringify(messageRecord(i)))
  })
  commit(1, 50)
  const per = Math.max(1, Math.round(perTransaction))
  const cpu = cpuMs()
  const start = now()
  let groups = 0
  for (let from = 51; from <= 50 + messages; from += per) {
    commit(from, Math.min(from + per - 1, 50 + messages))
    groups++
  }
  const wall = now() - start
  const rep = { wall, cpu: cpuMs() - cpu, messages, writes: messages, groups }
  db.close()
  rmSync(dir, { recursive: true, force: true })
  return rep
}
