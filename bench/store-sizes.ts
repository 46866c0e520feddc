import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { ONE_PERIOD_MS } from './engines.js'
import { bytes, markdownTable, sig } from './table.js'
import { messageText, USER } from './workload.js'

/** What a SQLite store of Tidings holds after compaction, in bytes. */
export interface StoreSizes {
  /** The compacted lane doc's row as stored (deflated when that saves bytes). */
  readonly row: number
  /** The same row merged but not compressed (`compressAbove: false`), for comparison. */
  readonly rawRow: number
  /** Pages of the `updates` table and its key index (`dbstat`), after VACUUM. */
  readonly updatesPages: number
  /** The whole database file after VACUUM and a WAL checkpoint: every table, free pages none. */
  readonly file: number
}

const CONVERSATION = 'bench-sizes'

/**
 * Sends `count` messages through the public API into @tidings/storage-sqlite (one period), acks
 * the outbox as a server would, compacts every doc and measures the file: page-level after VACUUM.
 */
export const sqliteStoreSizes = async (count: number): Promise<StoreSizes> => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-bench-sizes-'))
  const path = join(dir, 'store.sqlite')
  try {
    // Durability does not change what is stored; 'normal' keeps the fill short.
    const storage = sqliteStorage({ path, durability: 'normal' })
    const client = createClient({ user: USER, storage, periodMs: ONE_PERIOD_MS })
    const convo = await client.open(CONVERSATION)
    for (let i = 1; i <= count; i++) await convo.send({ text: messageText(i) })
    await client.close()

    const store = sqliteStorage({ path, durability: 'normal' })
    // A synced device holds no outbox: the server acknowledged every send.
    await store.write({ acked: (await store.outbox()).map((e) => e.key) })
    const docs = await store.listDocs(CONVERSATION)
    for (const { doc } of docs) await store.compact(doc)
    const lane = docs.find((d) => d.doc.includes('/normal/'))
    if (!lane) throw new Error('no lane doc after the sends')
    const db = store.database
    const row = db.prepare('SELECT sum(size) FROM updates WHERE doc = ?').pluck().get(lane.doc) as number
    db.exec('VACUUM')
    db.pragma('wal_checkpoint(TRUNCATE)')
    const updatesPages = db
      .prepare("SELECT sum(pgsize) FROM dbstat WHERE name IN ('updates', 'sqlite_autoindex_updates_1')")
      .pluck()
      .get() as number
    const [merged] = await store.load(lane.doc)
    await store.close()
    return { row, rawRow: merged?.update.length ?? Number.NaN, updatesPages, file: statSync(path).size }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The store's figures as a table, total and per message. */
export const storeSizesTable = (sizes: StoreSizes, messages: number): string =>
  markdownTable(
    ['Tidings on @tidings/storage-sqlite, after compaction', 'bytes', 'B/msg'],
    (
      [
        ['lane doc row as stored (deflated)', sizes.row],
        ['the same row merged, not deflated', sizes.rawRow],
        ['`updates` table pages (dbstat, after VACUUM)', sizes.updatesPages],
        ['whole database file (after VACUUM)', sizes.file],
      ] as const
    ).map(([what, n]) => [what, bytes(n), sig(n / messages)]),
  )
