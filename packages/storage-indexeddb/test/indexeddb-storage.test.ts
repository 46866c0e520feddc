import { createClient } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import { bytes, countRows, fakeBrowser, rawOpen, rawRequest, type TransactionSeen } from './helpers.js'

describe('indexeddbStorage layout and transactions', () => {
  it('keeps one database per client with updates keyed by [doc, n], docs, meta and outbox', async () => {
    const browser = fakeBrowser()
    const storage = browser.open({ name: 'client-a' })
    await storage.write({
      updates: [
        { doc: 'room/normal/1', update: bytes(1), messages: 2, newest: 50 },
        { doc: 'room/normal/1', update: bytes(2), messages: 1, newest: 40 },
      ],
      meta: { device: 'd1' },
      outbox: [{ key: 'd1.1', doc: 'room/normal/1', lane: 'normal', update: bytes(1), messages: ['d1.1'] }],
    })
    await storage.close()
    const db = await rawOpen(browser.raw, 'client-a')
    expect([...Array.from(db.objectStoreNames)].sort()).toEqual([
      'docs',
      'meta',
      'outbox',
      'quarantine',
      'updates',
    ])
    const keys = await rawRequest(db, 'updates', 'readonly', (s) => s.getAllKeys())
    expect(keys).toEqual([
      ['room/normal/1', 1],
      ['room/normal/1', 2],
    ])
    const doc = await rawRequest(db, 'docs', 'readonly', (s) => s.get('room/normal/1'))
    expect(doc).toEqual({ updates: 2, messages: 3, newest: 50, next: 3 })
    expect(await rawRequest(db, 'meta', 'readonly', (s) => s.get('device'))).toBe('d1')
    db.close()
  })

  it('lists docs from the docs store alone, never reading an update', async () => {
    const seen: TransactionSeen[] = []
    const browser = fakeBrowser({ transaction: (t) => seen.push(t) })
    const storage = browser.open()
    await storage.write({ updates: [{ doc: 'room/meta', update: bytes(9, 9, 9), messages: 0, newest: 7 }] })
    seen.length = 0
    expect(await storage.listDocs('room')).toEqual([{ doc: 'room/meta', updates: 1, messages: 0, newest: 7 }])
    expect(seen.map((t) => t.stores)).toEqual([['docs']])
    await storage.close()
  })

  it('commits a batch in one strict read-write transaction over every store', async () => {
    const seen: TransactionSeen[] = []
    const browser = fakeBrowser({ transaction: (t) => seen.push(t) })
    const storage = browser.open()
    await storage.getMeta('warm-up')
    seen.length = 0
    await storage.write({
      updates: [{ doc: 'c/low/0', update: bytes(1) }],
      meta: { seq: '1' },
      outbox: [{ key: 'k', doc: 'c/low/0', lane: 'low', update: bytes(1), messages: [] }],
    })
    expect(seen).toHaveLength(1)
    expect(seen[0]!.mode).toBe('readwrite')
    expect(seen[0]!.options).toEqual({ durability: 'strict' })
    expect([...seen[0]!.stores].sort()).toEqual(['docs', 'meta', 'outbox', 'quarantine', 'updates'])
    await storage.close()
  })

  it('resolves write() only after the transaction completed', async () => {
    const events: string[] = []
    const browser = fakeBrowser({
      transaction: ({ tx, mode }) => {
        if (mode === 'readwrite') tx.addEventListener('complete', () => events.push('complete'))
      },
    })
    const storage = browser.open()
    await storage.write({ meta: { a: '1' } }).then(() => events.push('resolved'))
    expect(events).toEqual(['complete', 'resolved'])
    await storage.close()
  })

  it('returns the outbox in write order; a rewritten key keeps its place', async () => {
    const storage = fakeBrowser().open()
    const entry = (key: string, tag: number) =>
      ({ key, doc: 'c/normal/0', lane: 'normal', update: bytes(tag), messages: [key] }) as const
    await storage.write({ outbox: [entry('z', 1), entry('a', 2)] })
    await storage.write({ outbox: [entry('m', 3)] })
    await storage.write({ outbox: [entry('z', 4)], acked: ['a'] })
    await storage.write({ outbox: [entry('b', 5)] })
    const list = await storage.outbox()
    expect(list.map((e) => [e.key, e.update[0]])).toEqual([
      ['z', 4],
      ['m', 3],
      ['b', 5],
    ])
    await storage.close()
  })

  it('refuses a malformed batch before opening a transaction', async () => {
    const seen: TransactionSeen[] = []
    const browser = fakeBrowser({ transaction: (t) => seen.push(t) })
    const storage = browser.open()
    await storage.write({ meta: { a: '1' } })
    seen.length = 0
    const bad = { updates: [{ doc: 'c/meta', update: bytes(1), messages: Number.NaN }], meta: { a: '2' } }
    await expect(storage.write(bad)).rejects.toMatchObject({ code: 'input/invalid' })
    expect(seen).toEqual([])
    expect(await storage.getMeta('a')).toBe('1')
    await storage.close()
  })

  it('drops a doc with its rows, its docs entry and its outbox entries, and nothing else', async () => {
    const storage = fakeBrowser().open()
    await storage.write({
      updates: [
        { doc: 'c/normal/1', update: bytes(1) },
        { doc: 'c/normal/1', update: bytes(2) },
        { doc: 'c/normal/2', update: bytes(3) },
      ],
      outbox: [
        { key: 'x', doc: 'c/normal/1', lane: 'normal', update: bytes(1), messages: [] },
        { key: 'y', doc: 'c/normal/2', lane: 'normal', update: bytes(3), messages: [] },
      ],
    })
    await storage.drop('c/normal/1')
    expect(await storage.load('c/normal/1')).toEqual([])
    expect((await storage.listDocs('c')).map((d) => d.doc)).toEqual(['c/normal/2'])
    expect((await storage.outbox()).map((e) => e.key)).toEqual(['y'])
    expect((await storage.load('c/normal/2')).map((r) => [...r.update])).toEqual([[3]])
    await storage.close()
  })

  it('frees space on retention: dropping expired docs deletes their rows', async () => {
    const browser = fakeBrowser()
    const storage = browser.open({ name: 'retention' })
    const blob = new Uint8Array(10_000).fill(7)
    for (let period = 0; period < 10; period++) {
      for (let i = 0; i < 5; i++)
        await storage.write({ updates: [{ doc: `c/normal/${period}`, update: blob, messages: 1 }] })
    }
    await storage.close()
    const before = await countRows(browser.raw, 'retention')
    const again = browser.open({ name: 'retention' })
    for (let period = 0; period < 8; period++) await again.drop(`c/normal/${period}`)
    await again.close()
    const after = await countRows(browser.raw, 'retention')
    expect(before).toMatchObject({ updates: 50, docs: 10 })
    expect(after).toMatchObject({ updates: 10, docs: 2 })
  })

  it('rejects every call after close() with storage/closed, even while writes were in flight', async () => {
    const storage = fakeBrowser().open()
    const pending = storage.write({ meta: { a: '1' } })
    const closing = storage.close()
    await expect(pending).resolves.toBeUndefined()
    await closing
    await expect(storage.getMeta('a')).rejects.toMatchObject({ code: 'storage/closed' })
    await expect(storage.write({ meta: { a: '2' } })).rejects.toMatchObject({ code: 'storage/closed' })
    await storage.close()
  })
})

describe('a client on indexeddbStorage', () => {
  it('keeps sent messages across close and reopen', async () => {
    const browser = fakeBrowser()
    const first = createClient({ user: 'ann', storage: browser.open({ name: 'ann' }) })
    const room = await first.open('room')
    const sent = []
    for (let i = 0; i < 20; i++)
      sent.push(await room.send({ text: `m${i}` }, { priority: i % 3 === 0 ? 'urgent' : 'normal' }))
    expect(room.pending()).toHaveLength(20)
    const device = first.device
    await first.close()

    const second = createClient({ user: 'ann', storage: browser.open({ name: 'ann' }) })
    const again = await second.open('room')
    while (await again.loadOlder()) {}
    expect(second.device).toBe(device)
    expect(
      again
        .messages()
        .map((m) => m.id)
        .sort(),
    ).toEqual(sent.map((m) => m.id).sort())
    expect(
      again
        .pending()
        .map((m) => m.id)
        .sort(),
    ).toEqual(sent.map((m) => m.id).sort())
    const next = await again.send('after restart')
    expect(sent.map((m) => m.id)).not.toContain(next.id)
    await second.close()
  })
})
