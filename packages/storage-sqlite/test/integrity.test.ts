import { readFileSync, writeFileSync } from 'node:fs'
import { createClient, isTidingsError, type TidingsError } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { bytes, noise, useTempDir } from './helpers.js'

const tempPath = useTempDir()

/** Runs raw SQL on a closed store's file, as a damaged disk or a stray tool would. */
const tamper = (path: string, fn: (db: Database.Database) => void) => {
  const db = new Database(path)
  try {
    fn(db)
  } finally {
    db.close()
  }
}

const flip = (blob: Uint8Array, at: number) => {
  const copy = new Uint8Array(blob)
  copy[at]! ^= 0x10
  return copy
}

const seed = async (path: string) => {
  const store = sqliteStorage({ path })
  await store.write({
    updates: [
      { doc: 'c/a', update: noise(300, 1) },
      { doc: 'c/a', update: noise(300, 2) },
      { doc: 'c/a', update: noise(300, 3) },
      { doc: 'c/b', update: noise(300, 4) },
    ],
  })
  await store.close()
}

const corruptError = (doc: string) => (e: unknown) =>
  isTidingsError(e, 'storage/corrupt') && (e as TidingsError).subject === doc

describe('integrity', () => {
  it('detects a flipped bit, quarantines the row, and loads the rest next time', async () => {
    const path = tempPath()
    await seed(path)
    tamper(path, (db) =>
      db.prepare("UPDATE updates SET blob = ? WHERE doc = 'c/a' AND n = 2").run(flip(noise(300, 2), 150)),
    )
    const store = sqliteStorage({ path })
    await expect(store.load('c/a')).rejects.toSatisfy(corruptError('c/a'))
    expect((await store.load('c/a')).map((r) => r.n)).toEqual([1, 3])
    expect(await store.load('c/b')).toEqual([{ n: 1, update: noise(300, 4) }])
    expect((await store.listDocs('c')).map((d) => [d.doc, d.updates])).toEqual([
      ['c/a', 2],
      ['c/b', 1],
    ])
    const kept = store.database.prepare('SELECT source, doc, n, reason, blob FROM quarantine').all()
    expect(kept).toEqual([
      { source: 'updates', doc: 'c/a', n: 2, reason: 'checksum mismatch', blob: expect.any(Buffer) },
    ])
    await store.close()
  })

  it('detects a truncated blob', async () => {
    const path = tempPath()
    await seed(path)
    tamper(path, (db) =>
      db.exec("UPDATE updates SET blob = substr(blob, 1, 100) WHERE doc = 'c/a' AND n = 3"),
    )
    const store = sqliteStorage({ path })
    await expect(store.load('c/a')).rejects.toThrow(/truncated blob: 100 of 300 bytes/)
    expect((await store.load('c/a')).map((r) => r.n)).toEqual([1, 2])
    await store.close()
  })

  it('detects a bit flipped in the file itself, which SQLite alone does not notice', async () => {
    const path = tempPath()
    await seed(path)
    const file = readFileSync(path)
    const at = Buffer.from(file).indexOf(Buffer.from(noise(300, 3)))
    expect(at).toBeGreaterThan(0)
    file[at + 200]! ^= 0x01
    writeFileSync(path, file)
    tamper(path, (db) => expect(db.pragma('integrity_check', { simple: true })).toBe('ok'))
    const store = sqliteStorage({ path })
    await expect(store.load('c/a')).rejects.toSatisfy(corruptError('c/a'))
    expect((await store.load('c/a')).map((r) => r.n)).toEqual([1, 2])
    await store.close()
  })

  it('quarantines a damaged row met during compaction and leaves the others unmerged', async () => {
    const path = tempPath()
    await seed(path)
    tamper(path, (db) => db.exec("UPDATE updates SET crc = crc + 1 WHERE doc = 'c/a' AND n = 1"))
    const store = sqliteStorage({ path })
    await expect(store.compact('c/a')).rejects.toSatisfy(corruptError('c/a'))
    expect((await store.load('c/a')).map((r) => r.n)).toEqual([2, 3])
    await store.close()
  })

  it('quarantines a damaged outbox entry, naming its doc, and keeps the others', async () => {
    const path = tempPath()
    const store = sqliteStorage({ path })
    const entry = (key: string, doc: string) => ({
      key,
      doc,
      lane: 'normal' as const,
      update: bytes(1, 2),
      messages: [],
    })
    await store.write({ outbox: [entry('k1', 'c/normal/1'), entry('k2', 'c/normal/2')] })
    await store.close()
    tamper(path, (db) => db.exec(`UPDATE outbox SET "update" = x'0103' WHERE key = 'k1'`))
    const again = sqliteStorage({ path })
    await expect(again.outbox()).rejects.toSatisfy(corruptError('c/normal/1'))
    expect((await again.outbox()).map((e) => e.key)).toEqual(['k2'])
    await again.close()
  })

  it('lets a conversation with a damaged doc open: the error names the doc, the rest loads', async () => {
    const path = tempPath()
    const user = 'ann'
    const first = createClient({ user, storage: sqliteStorage({ path }) })
    const convo = await first.open('room')
    const normal = await convo.send('kept')
    await convo.send('damaged', { priority: 'urgent' })
    await first.close()
    let urgentDoc = ''
    tamper(path, (db) => {
      urgentDoc = db.prepare("SELECT doc FROM docs WHERE doc LIKE '%/urgent/%'").pluck().get() as string
      db.prepare('UPDATE updates SET crc = crc + 1 WHERE doc = ?').run(urgentDoc)
    })

    const errors: TidingsError[] = []
    const second = createClient({ user, storage: sqliteStorage({ path }) })
    second.on('error', (e) => errors.push(e))
    const reopened = await second.open('room')
    expect(reopened.messages().map((m) => m.id)).toEqual([normal.id])
    expect(errors.map((e) => [e.code, e.subject])).toEqual([['storage/corrupt', urgentDoc]])
    await second.close()

    const third = createClient({ user, storage: sqliteStorage({ path }) })
    third.on('error', (e) => errors.push(e))
    expect((await third.open('room')).messages().map((m) => m.id)).toEqual([normal.id])
    expect(errors).toHaveLength(1)
    await third.close()
  })
})
