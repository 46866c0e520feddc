import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { LoroDoc } from 'loro-crdt'
import * as Y from 'yjs'
import { ONE_PERIOD_MS } from './engines.js'
import { bytes, markdownTable, sig } from './table.js'
import { USER } from './workload.js'

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
  /** Peers on the same messages, read back from the lane doc: `JSON.stringify([{ id, ...record }])`. */
  readonly json: number
  /** Loro's snapshot export of a LoroMap holding the same records, one commit per message. */
  readonly loro: number
}

/** JSON and Loro snapshot sizes of the records a merged lane doc holds. */
const peersOf = (update: Uint8Array) => {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, update)
  const records = doc.getMap('m').toJSON() as Record<string, Record<string, unknown>>
  doc.destroy()
  const entries = Object.entries(records)
  const json = Buffer.byteLength(JSON.stringify(entries.map(([id, r]) => ({ id, ...r }))))
  const loro = new LoroDoc()
  const map = loro.getMap('m')
  for (const [id, r] of entries) {
    map.set(id, r)
    loro.commit()
  }
  const snapshot = loro.export({ mode: 'snapshot' }).length
  loro.free()
  return { json, loro: snapshot }
}

const CONVERSATION = 'bench-sizes'

/**
 * Sends `count` messages through the public API into @tidings/storage-sqlite (one period), acks
 * the outbox as a server would, compacts every doc and measures the file: page-level after VACUUM.
 */
export const sqliteStoreSizes = async (count: number, text: (i: number) => string): Promise<StoreSizes> => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-bench-sizes-'))
  const path = join(dir, 'store.sqlite')
  try {
    // Durability does not change what is stored; 'normal' keeps the fill short.
    const storage = sqliteStorage({ path, durability: 'normal' })
    const client = createClient({ user: USER, storage, periodMs: ONE_PERIOD_MS })
    const convo = await client.open(CONVERSATION)
    for (let i = 1; i <= count; i++) await convo.send({ text: text(i) })
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
    if (!merged) throw new Error('the lane doc is empty after compaction')
    return {
      row,
      rawRow: merged.update.length,
      updatesPages,
      file: statSync(path).size,
      ...peersOf(merged.update),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The store's figures as a table, total and per message. */
export const storeSizesTable = (
  variants: readonly { label: string; sizes: StoreSizes }[],
  messages: number,
): string =>
  markdownTable(
    ['Tidings on @tidings/storage-sqlite, after compaction', ...variants.flatMap((v) => [v.label, 'B/msg'])],
    (
      [
        ['lane doc row as stored (deflated)', 'row'],
        ['the same row merged, not deflated', 'rawRow'],
        ['`updates` table pages (dbstat, after VACUUM)', 'updatesPages'],
        ['whole database file (after VACUUM)', 'file'],
        ['peer: JSON of the same messages', 'json'],
        ['peer: Loro snapshot of the same records', 'loro'],
      ] as const
    ).map(([what, key]) => [
      what,
      ...variants.flatMap(({ sizes }) => [bytes(sizes[key]), sig(sizes[key] / messages)]),
    ]),
  )
