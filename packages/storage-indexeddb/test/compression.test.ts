import { isTidingsError } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { fakeBrowser, rawOpen, rawRequest } from './helpers.js'

/** The updates of a doc that receives `count` chat-like messages, one update per message. */
const chatUpdates = (count: number): Uint8Array[] => {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  for (let i = 1; i <= count; i++)
    doc
      .getMap('m')
      .set(`dev.${i}`, { author: 'ann', body: { text: `message number ${i} about the contract` } })
  return updates
}

const keysOf = (rows: { update: Uint8Array }[]) => {
  const doc = new Y.Doc()
  for (const row of rows) Y.applyUpdate(doc, row.update)
  return Object.keys(doc.getMap('m').toJSON()).length
}

/** The raw values of the `updates` store, as another tab or DevTools sees them. */
const storedValues = async (factory: IDBFactory, name: string) => {
  const db = await rawOpen(factory, name)
  const values = await rawRequest(db, 'updates', 'readonly', (s) => s.getAll())
  db.close()
  return values as unknown[]
}

const fill = (updates: Uint8Array[], doc = 'c/normal/1') => ({
  updates: updates.map((update) => ({ doc, update, messages: 1 })),
})

describe('compressed compacted rows', () => {
  it('stores a large merged row deflated under a format marker, and loads it back', async () => {
    const browser = fakeBrowser()
    const storage = browser.open({ name: 'z' })
    const updates = chatUpdates(301)
    const last = updates.pop()!
    await storage.write(fill(updates))
    await storage.compact('c/normal/1')
    const [value] = await storedValues(browser.raw, 'z')
    const merged = Y.mergeUpdates(updates)
    // zlib 'deflate': its Adler-32 lets a damaged row fail to inflate instead of loading altered.
    expect(value).toMatchObject({ codec: 'deflate' })
    expect((value as { bytes: Uint8Array }).bytes.length).toBeLessThan(merged.length / 2)
    const rows = await storage.load('c/normal/1')
    expect(rows).toHaveLength(1)
    expect(keysOf(rows)).toBe(300)
    // Plain rows (every row of older versions) load beside it.
    await storage.write(fill([last]))
    expect(keysOf(await storage.load('c/normal/1'))).toBe(301)
    await storage.close()

    const raw = fakeBrowser()
    const plain = raw.open({ name: 'z', compressAbove: false })
    await plain.write(fill(updates))
    await plain.compact('c/normal/1')
    expect((await storedValues(raw.raw, 'z'))[0]).toBeInstanceOf(Uint8Array)
    await plain.close()
  })

  it('sets a compressed row that will not inflate aside as storage/corrupt, and loads the rest', async () => {
    const browser = fakeBrowser()
    const storage = browser.open({ name: 'z' })
    await storage.write(fill(chatUpdates(300)))
    await storage.compact('c/normal/1')
    // Another device's first message: it applies without the rows before it.
    await storage.write(fill(chatUpdates(1)))
    const db = await rawOpen(browser.raw, 'z')
    const [key] = await rawRequest(db, 'updates', 'readonly', (s) => s.getAllKeys())
    await rawRequest(db, 'updates', 'readwrite', (s) =>
      s.put({ codec: 'deflate-raw', bytes: new Uint8Array([255, 1, 2, 3]) }, key),
    )
    db.close()
    const error = await storage.load('c/normal/1').catch((e: unknown) => e)
    expect(isTidingsError(error, 'storage/corrupt')).toBe(true)
    const rows = await storage.load('c/normal/1')
    expect(keysOf(rows)).toBe(1)
    expect(await storage.listDocs('c')).toMatchObject([{ doc: 'c/normal/1', updates: 1 }])
    await storage.close()
  })

  it("still reads rows of the older 'deflate-raw' marker, and sets one aside that is no Yjs update", async () => {
    const browser = fakeBrowser()
    const storage = browser.open({ name: 'z' })
    const updates = chatUpdates(300)
    const deflateRaw = async (bytes: Uint8Array) =>
      new Uint8Array(
        await new Response(
          new Blob([bytes as Uint8Array<ArrayBuffer>])
            .stream()
            .pipeThrough(new CompressionStream('deflate-raw')),
        ).arrayBuffer(),
      )
    const old = { codec: 'deflate-raw', bytes: await deflateRaw(Y.mergeUpdates(updates)) }
    // Inflates fine, but holds no Yjs update: raw deflate has no checksum to tell.
    const garbage = { codec: 'deflate-raw', bytes: await deflateRaw(new Uint8Array([200, 200, 200, 1])) }
    await storage.write(fill([updates[0]!, updates[1]!]))
    const db = await rawOpen(browser.raw, 'z')
    const keys = await rawRequest(db, 'updates', 'readonly', (s) => s.getAllKeys())
    await rawRequest(db, 'updates', 'readwrite', (s) => s.put(old, keys[0]!))
    await rawRequest(db, 'updates', 'readwrite', (s) => s.put(garbage, keys[1]!))
    db.close()
    const error = await storage.load('c/normal/1').catch((e: unknown) => e)
    expect(isTidingsError(error, 'storage/corrupt')).toBe(true)
    expect(keysOf(await storage.load('c/normal/1'))).toBe(300)
    expect(await storage.listDocs('c')).toMatchObject([{ doc: 'c/normal/1', updates: 1 }])
    await storage.close()
  })

  it('keeps a write made while it compresses, and changes nothing when its rows were dropped', async () => {
    const browser = fakeBrowser()
    const storage = browser.open({ name: 'z' })
    const [late, ...updates] = chatUpdates(301)
    await storage.write(fill(updates))
    await Promise.all([storage.compact('c/normal/1'), storage.write(fill([late!]))])
    const rows = await storage.load('c/normal/1')
    expect(keysOf(rows)).toBe(301)
    expect(await storage.listDocs('c')).toMatchObject([
      { doc: 'c/normal/1', updates: rows.length, messages: 301 },
    ])

    await storage.write(fill(updates, 'c/normal/2'))
    await Promise.all([storage.compact('c/normal/2'), storage.drop('c/normal/2')])
    expect(await storage.load('c/normal/2')).toEqual([])
    expect((await storage.listDocs('c')).map((d) => d.doc)).toEqual(['c/normal/1'])
    await storage.close()
  })
})
