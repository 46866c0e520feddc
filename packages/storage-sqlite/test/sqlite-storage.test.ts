import { writeFileSync } from 'node:fs'
import { isTidingsError, type StorageAdapter } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { bytes, useTempDir } from './helpers.js'

const tempPath = useTempDir()

const entry = (key: string, doc: string, ...messages: string[]) => ({
  key,
  doc,
  lane: 'normal' as const,
  update: bytes(key.length, 7),
  messages,
})

describe('sqliteStorage', () => {
  it('stores updates, counts, meta and the outbox, and keeps them across a reopen', async () => {
    const path = tempPath()
    const first = sqliteStorage({ path })
    await first.write({
      updates: [
        { doc: 'room/normal/1', update: bytes(1, 2, 3), messages: 2, newest: 100 },
        { doc: 'room/normal/1', update: bytes(4), messages: 1, newest: 50 },
        { doc: 'room/meta', update: bytes(5) },
        { doc: 'roomy/meta', update: bytes(6) },
      ],
      meta: { device: 'd1', seq: '3' },
      outbox: [entry('b', 'room/normal/1', 'd1.1'), entry('a', 'room/meta')],
    })
    await first.close()

    const store = sqliteStorage({ path })
    expect(await store.listDocs('room')).toEqual([
      { doc: 'room/meta', updates: 1, messages: 0, newest: 0 },
      { doc: 'room/normal/1', updates: 2, messages: 3, newest: 100 },
    ])
    expect(await store.load('room/normal/1')).toEqual([
      { n: 1, update: bytes(1, 2, 3) },
      { n: 2, update: bytes(4) },
    ])
    expect(await store.load('nowhere')).toEqual([])
    expect(await store.getMeta('seq')).toBe('3')
    expect(await store.getMeta('missing')).toBeUndefined()
    expect((await store.outbox()).map((e) => e.key)).toEqual(['b', 'a'])

    // A rewritten key keeps its place; acked and dropped entries go.
    await store.write({ outbox: [entry('c', 'room/normal/1'), entry('b', 'room/meta', 'x')], acked: ['a'] })
    expect((await store.outbox()).map((e) => [e.key, e.doc])).toEqual([
      ['b', 'room/meta'],
      ['c', 'room/normal/1'],
    ])
    await store.write({ meta: { seq: null } })
    expect(await store.getMeta('seq')).toBeUndefined()
    await store.drop('room/normal/1')
    expect((await store.outbox()).map((e) => e.key)).toEqual(['b'])
    expect((await store.listDocs('room')).map((d) => d.doc)).toEqual(['room/meta'])
    // Written again, the doc numbers its rows after the dropped ones: loadAfter never misses one.
    await store.write({ updates: [{ doc: 'room/normal/1', update: bytes(9) }] })
    expect(await store.load('room/normal/1')).toEqual([{ n: 3, update: bytes(9) }])
    await store.close()
  })

  it('lists exactly the docs under a conversation, whatever the characters around it', async () => {
    const store = sqliteStorage({ path: tempPath() })
    const names = ['a/x', 'a/é', 'a/😀', 'a0/x', 'a.b/x', 'ab/x', 'a', 'A/x', 'a//y', 'é/x']
    await store.write({ updates: names.map((doc) => ({ doc, update: bytes(1) })) })
    const docs = (await store.listDocs('a')).map((d) => d.doc)
    expect(docs).toEqual(['a//y', 'a/x', 'a/é', 'a/😀'])
    expect((await store.listDocs('é')).map((d) => d.doc)).toEqual(['é/x'])
    await store.close()
  })

  it('returns copies: bytes changed by the caller after write() do not reach the store', async () => {
    const store = sqliteStorage({ path: tempPath() })
    const update = bytes(1, 2, 3)
    const pending = store.write({ updates: [{ doc: 'c/d', update }] })
    update[0] = 99
    await pending
    const [row] = await store.load('c/d')
    expect(row!.update).toEqual(bytes(1, 2, 3))
    expect(row!.update).toBeInstanceOf(Uint8Array)
    expect(Buffer.isBuffer(row!.update)).toBe(false)
    await store.close()
  })

  it('refuses a malformed batch whole and stores nothing of it', async () => {
    const store = sqliteStorage({ path: tempPath() })
    const bad = [
      {
        updates: [
          { doc: 'c/d', update: bytes(1) },
          { doc: 'c/d', update: 'nope' as never },
        ],
      },
      { updates: [{ doc: 'c/d', update: bytes(1), messages: Number.NaN }] },
      { meta: { a: 'ok', b: 3 as never } },
      { outbox: [{ ...entry('k', 'c/d'), messages: [1] as never }] },
      { acked: [null as never] },
    ]
    for (const batch of bad)
      await expect(store.write(batch)).rejects.toSatisfy((e) => isTidingsError(e, 'input/invalid'))
    expect(await store.listDocs('c')).toEqual([])
    expect(await store.getMeta('a')).toBeUndefined()
    expect(await store.outbox()).toEqual([])
    await store.close()
  })

  it('commits writes issued together in one group, in order, each resolving after its commit', async () => {
    const store = sqliteStorage({ path: tempPath() })
    const writes = Array.from({ length: 200 }, (_, i) =>
      store.write({ updates: [{ doc: 'c/d', update: bytes(i % 256) }], meta: { last: String(i) } }),
    )
    // A read issued before the group committed still sees every earlier write.
    expect(await store.getMeta('last')).toBe('199')
    await Promise.all(writes)
    const rows = await store.load('c/d')
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    expect(rows.map((r) => r.update[0])).toEqual(Array.from({ length: 200 }, (_, i) => i % 256))
    await store.close()
  })

  it('uses synchronous=FULL by default and NORMAL only when asked', async () => {
    const full = sqliteStorage({ path: tempPath() })
    expect(full.database.pragma('synchronous', { simple: true })).toBe(2)
    expect(full.database.pragma('journal_mode', { simple: true })).toBe('wal')
    await full.close()
    const normal = sqliteStorage({ path: tempPath(), durability: 'normal' })
    expect(normal.database.pragma('synchronous', { simple: true })).toBe(1)
    await normal.close()
    expect(() => sqliteStorage({ path: tempPath(), durability: 'off' as never })).toThrow(
      expect.objectContaining({ code: 'input/invalid' }),
    )
  })

  it('rejects every call with storage/closed after close()', async () => {
    const store: StorageAdapter = sqliteStorage({ path: tempPath() })
    await store.write({ meta: { a: '1' } })
    await store.close()
    const calls = [
      store.listDocs('c'),
      store.load('c/d'),
      store.write({ meta: { a: '2' } }),
      store.getMeta('a'),
      store.outbox(),
      store.compact('c/d'),
      store.drop('c/d'),
    ]
    for (const call of calls) await expect(call).rejects.toSatisfy((e) => isTidingsError(e, 'storage/closed'))
    await expect(store.close()).resolves.toBeUndefined()
  })

  it('commits a write still queued when close() is called', async () => {
    const path = tempPath()
    const store = sqliteStorage({ path })
    const write = store.write({ meta: { a: '1' } })
    await store.close()
    await write
    const again = sqliteStorage({ path })
    expect(await again.getMeta('a')).toBe('1')
    await again.close()
  })

  it('lets one connection at a time use a file: a second gets storage/locked', async () => {
    const path = tempPath()
    const store = sqliteStorage({ path })
    expect(() => sqliteStorage({ path, busyTimeout: 50 })).toThrow(
      expect.objectContaining({ code: 'storage/locked', subject: path }),
    )
    await store.close()
    const next = sqliteStorage({ path })
    await next.close()
  })

  it('refuses a file that is not a database with storage/corrupt', () => {
    const path = tempPath()
    writeFileSync(path, 'this is not a database, it is a shopping list'.repeat(100))
    expect(() => sqliteStorage({ path })).toThrow(expect.objectContaining({ code: 'storage/corrupt' }))
  })

  it('creates the folder of a new file', async () => {
    const path = tempPath('deeper/still/store.db')
    const store = sqliteStorage({ path })
    await store.write({ meta: { a: '1' } })
    await store.close()
    const db = new Database(path, { readonly: true })
    expect(db.prepare('SELECT value FROM meta').pluck().get()).toBe('1')
    db.close()
  })
})
