import { createClient, isTidingsError } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import { bytes, fakeBrowser, rawOpen, rawRequest } from './helpers.js'

/** Writes a value straight into a store, as a bug, an extension or a bit flip might. */
const plant = async (factory: IDBFactory, name: string, store: string, value: unknown, key?: IDBValidKey) => {
  const db = await rawOpen(factory, name)
  await rawRequest(db, store, 'readwrite', (s) => s.put(value, key))
  db.close()
}
const quarantined = async (factory: IDBFactory, name: string) => {
  const db = await rawOpen(factory, name)
  const rows = await rawRequest(db, 'quarantine', 'readonly', (s) => s.getAll())
  db.close()
  return rows as { store: string; doc?: string; reason: string }[]
}

describe('corrupt values', () => {
  it('refuses a doc with a malformed row as storage/corrupt, moves it aside, and loads the rest', async () => {
    const browser = fakeBrowser()
    const storage = browser.open({ name: 'c' })
    for (const tag of [1, 2, 3]) await storage.write({ updates: [{ doc: 'r/normal/0', update: bytes(tag) }] })
    await storage.write({ updates: [{ doc: 'r/normal/1', update: bytes(9) }] })
    await plant(browser.raw, 'c', 'updates', 'not bytes', ['r/normal/0', 2])
    await plant(browser.raw, 'c', 'updates', [1, 2, 3], ['r/normal/0', 3])

    const error = await storage.load('r/normal/0').catch((e: unknown) => e)
    expect(isTidingsError(error, 'storage/corrupt')).toBe(true)
    expect((error as { subject?: string }).subject).toBe('r/normal/0')
    expect((await storage.load('r/normal/1')).map((r) => [...r.update])).toEqual([[9]])
    expect((await storage.load('r/normal/0')).map((r) => [r.n, ...r.update])).toEqual([[1, 1]])
    expect(await storage.listDocs('r')).toMatchObject([
      { doc: 'r/normal/0', updates: 1 },
      { doc: 'r/normal/1' },
    ])
    expect((await quarantined(browser.raw, 'c')).map((q) => [q.store, q.doc])).toEqual([
      ['updates', 'r/normal/0'],
      ['updates', 'r/normal/0'],
    ])
    // New rows never reuse the numbers of rows set aside.
    await storage.write({ updates: [{ doc: 'r/normal/0', update: bytes(4) }] })
    expect((await storage.load('r/normal/0')).map((r) => r.n)).toEqual([1, 4])
    // Dropping the doc drops what was set aside for it.
    await storage.drop('r/normal/0')
    expect(await quarantined(browser.raw, 'c')).toEqual([])
    await storage.close()
  })

  it('reports corrupt rows found by compact() and compacts what is left next time', async () => {
    const browser = fakeBrowser()
    const storage = browser.open({ name: 'c' })
    const { Doc, encodeStateAsUpdate } = await import('yjs')
    const author = new Doc()
    for (const k of ['a', 'b', 'c']) {
      author.getMap('m').set(k, k)
      await storage.write({ updates: [{ doc: 'r/low/0', update: encodeStateAsUpdate(author), messages: 1 }] })
    }
    await plant(browser.raw, 'c', 'updates', { broken: true }, ['r/low/0', 2])
    await expect(storage.compact('r/low/0')).rejects.toMatchObject({
      code: 'storage/corrupt',
      subject: 'r/low/0',
    })
    await storage.compact('r/low/0')
    expect(await storage.listDocs('r')).toEqual([{ doc: 'r/low/0', updates: 1, messages: 3, newest: 0 }])
    await storage.close()
  })

  it('rebuilds a malformed doc record from its rows, after reporting it once', async () => {
    const browser = fakeBrowser()
    const storage = browser.open({ name: 'c' })
    await storage.write({ updates: [{ doc: 'r/urgent/0', update: bytes(1), messages: 1, newest: 5 }] })
    await storage.write({ updates: [{ doc: 'r/urgent/0', update: bytes(2), messages: 1, newest: 6 }] })
    await storage.write({ updates: [{ doc: 'r/normal/0', update: bytes(3), messages: 1, newest: 7 }] })
    await plant(browser.raw, 'c', 'docs', 'garbage', 'r/urgent/0')
    await expect(storage.listDocs('r')).rejects.toMatchObject({
      code: 'storage/corrupt',
      subject: 'r/urgent/0',
    })
    expect(await storage.listDocs('r')).toEqual([
      { doc: 'r/normal/0', updates: 1, messages: 1, newest: 7 },
      { doc: 'r/urgent/0', updates: 2, messages: 0, newest: 0 },
    ])
    await storage.write({ updates: [{ doc: 'r/urgent/0', update: bytes(4) }] })
    expect((await storage.load('r/urgent/0')).map((r) => r.n)).toEqual([1, 2, 3])
    expect((await quarantined(browser.raw, 'c')).map((q) => q.store)).toEqual(['docs'])
    await storage.close()
  })

  it('never overwrites rows when a doc record is missing', async () => {
    const browser = fakeBrowser()
    const storage = browser.open({ name: 'c' })
    await storage.write({ updates: [{ doc: 'r/meta', update: bytes(1) }] })
    await storage.write({ updates: [{ doc: 'r/meta', update: bytes(2) }] })
    const db = await rawOpen(browser.raw, 'c')
    await rawRequest(db, 'docs', 'readwrite', (s) => s.delete('r/meta'))
    db.close()
    await storage.write({ updates: [{ doc: 'r/meta', update: bytes(3) }] })
    expect((await storage.load('r/meta')).map((r) => [r.n, ...r.update])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ])
    expect(await storage.listDocs('r')).toMatchObject([{ doc: 'r/meta', updates: 3 }])
    await storage.close()
  })

  it('sets aside a malformed outbox entry and a malformed meta value', async () => {
    const browser = fakeBrowser()
    const storage = browser.open({ name: 'c' })
    const entry = (key: string) => ({
      key,
      doc: 'r/high/0',
      lane: 'high' as const,
      update: bytes(1),
      messages: [key],
    })
    await storage.write({ outbox: [entry('a'), entry('b')], meta: { seq: '2' } })
    await plant(browser.raw, 'c', 'outbox', {
      key: 'a',
      doc: 'r/high/0',
      lane: 'high',
      update: 'x',
      messages: [],
      order: 1,
    })
    await plant(browser.raw, 'c', 'meta', 42, 'seq')
    await expect(storage.outbox()).rejects.toMatchObject({ code: 'storage/corrupt', subject: 'r/high/0' })
    expect((await storage.outbox()).map((e) => e.key)).toEqual(['b'])
    await expect(storage.getMeta('seq')).rejects.toMatchObject({ code: 'storage/corrupt', subject: 'seq' })
    expect(await storage.getMeta('seq')).toBeUndefined()
    expect((await quarantined(browser.raw, 'c')).map((q) => q.store)).toEqual(['outbox', 'meta'])
    await storage.close()
  })

  it('lets a client open the rest of a conversation once a corrupt row was set aside', async () => {
    const browser = fakeBrowser()
    const first = createClient({ user: 'ann', storage: browser.open({ name: 'ann' }) })
    const room = await first.open('room')
    const urgent = await room.send('urgent one', { priority: 'urgent' })
    const normal = await room.send('normal one')
    await first.close()
    const probe = browser.open({ name: 'ann' })
    const docs = await probe.listDocs('room')
    const lane = docs.find((d) => d.doc.includes('/normal/'))!.doc
    await probe.close()
    await plant(browser.raw, 'ann', 'updates', 'flipped bits', [lane, 1])

    const errors: unknown[] = []
    const second = createClient({ user: 'ann', storage: browser.open({ name: 'ann' }) })
    second.on('error', (e) => errors.push(e))
    const opened = await second.open('room')
    expect(errors).toEqual([expect.objectContaining({ code: 'storage/corrupt', subject: lane })])
    expect(opened.messages().map((m) => m.id)).toEqual([urgent.id])
    await second.close()
    // The row was set aside: the next session opens without an error.
    const third = createClient({ user: 'ann', storage: browser.open({ name: 'ann' }) })
    third.on('error', (e) => errors.push(e))
    const again = await third.open('room')
    while (await again.loadOlder()) {}
    expect(errors).toHaveLength(1)
    expect(again.messages().map((m) => m.id)).toEqual([urgent.id])
    expect(normal.id).not.toBe(urgent.id)
    await third.close()
  })
})
