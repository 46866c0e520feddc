// y-indexeddb opens the global indexedDB: this file installs fake-indexeddb as the global one.
import 'fake-indexeddb/auto'
import { importYIndexeddb, indexeddbStorage } from '@tidings/storage-indexeddb'
import { describe, expect, it } from 'vitest'
import { IndexeddbPersistence } from 'y-indexeddb'
import { applyUpdate, Doc } from 'yjs'

/** Stores a doc the way an app using y-indexeddb does, and waits until it is written. */
const storeWithYIndexeddb = async (dbName: string, fill: (doc: Doc) => void) => {
  const doc = new Doc()
  const persistence = new IndexeddbPersistence(dbName, doc)
  await persistence.whenSynced
  // Each change becomes a row, written in a transaction started at once: IndexedDB runs later
  // transactions on the store (the import's) after it, so there is nothing to wait for.
  fill(doc)
  await persistence.destroy()
  doc.destroy()
}

describe('importYIndexeddb', () => {
  it('imports a doc stored by y-indexeddb into Tidings storage', async () => {
    await storeWithYIndexeddb('legacy-room', (doc) => {
      doc.getMap('m').set('a', { text: 'hello' })
      doc.getMap('m').set('b', { text: 'world' })
      doc.getArray('log').push([1, 2, 3])
      doc.getMap('m').delete('b')
    })
    const storage = indexeddbStorage({ name: 'tidings-import' })
    const result = await importYIndexeddb('legacy-room', {
      storage,
      doc: 'room/normal/2900',
      messages: 1,
      newest: 1_750_000_000_000,
    })
    expect(result.doc).toBe('room/normal/2900')
    expect(result.bytes).toBeGreaterThan(0)
    expect(await storage.listDocs('room')).toEqual([
      { doc: 'room/normal/2900', updates: 1, messages: 1, newest: 1_750_000_000_000 },
    ])
    const check = new Doc()
    for (const row of await storage.load('room/normal/2900')) applyUpdate(check, row.update)
    expect(check.getMap('m').toJSON()).toEqual({ a: { text: 'hello' } })
    expect(check.getArray('log').toJSON()).toEqual([1, 2, 3])
    await storage.close()
  })

  it('writes nothing for a y-indexeddb database that holds nothing', async () => {
    const storage = indexeddbStorage({ name: 'tidings-import-empty' })
    expect(await importYIndexeddb('never-written', { storage, doc: 'room/meta' })).toEqual({
      doc: 'room/meta',
      bytes: 0,
    })
    expect(await storage.listDocs('room')).toEqual([])
    await storage.close()
  })
})
