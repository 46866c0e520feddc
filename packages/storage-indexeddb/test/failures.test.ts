import { isTidingsError } from '@tidings/core'
import { VERSION } from '@tidings/storage-indexeddb'
import { forceCloseDatabase } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bytes, fakeBrowser, rawOpen, type TransactionSeen } from './helpers.js'

const quota = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError')

/** Makes the next read-write transactions fail as a browser with a full quota does. */
const failWrites = (how: 'put-throws' | 'commit-aborts', times = Number.POSITIVE_INFINITY) => {
  let left = times
  return ({ tx, mode }: TransactionSeen) => {
    if (mode !== 'readwrite' || left-- <= 0) return
    if (how === 'put-throws') {
      const objectStore = tx.objectStore.bind(tx)
      tx.objectStore = (name: string) => {
        const store = objectStore(name)
        store.put = () => {
          throw quota()
        }
        store.add = store.put
        return store
      }
    } else {
      // Chrome reports a full quota when the transaction commits: no request fails, it aborts.
      const error = quota()
      tx.addEventListener('complete', () => {}, { once: true })
      queueMicrotask(() => {
        Object.defineProperty(tx, 'error', { get: () => error, set: () => {} })
        tx.abort()
      })
    }
  }
}

describe('quota', () => {
  const unhandled: unknown[] = []
  const collect = (reason: unknown) => unhandled.push(reason)
  beforeEach(() => {
    unhandled.length = 0
    process.on('unhandledRejection', collect)
  })
  afterEach(() => {
    process.off('unhandledRejection', collect)
  })

  for (const how of ['put-throws', 'commit-aborts'] as const) {
    it(`surfaces QuotaExceededError as quota/exceeded and stores nothing (${how})`, async () => {
      let hook: ((t: TransactionSeen) => void) | undefined
      const browser = fakeBrowser({ transaction: (t) => hook?.(t) })
      const storage = browser.open()
      await storage.write({ updates: [{ doc: 'c/normal/0', update: bytes(1) }], meta: { seq: '1' } })
      hook = failWrites(how, 1)
      const error = await storage
        .write({
          updates: [{ doc: 'c/normal/0', update: bytes(2), messages: 1 }],
          meta: { seq: '2' },
          outbox: [{ key: 'k', doc: 'c/normal/0', lane: 'normal', update: bytes(2), messages: ['k'] }],
        })
        .catch((e: unknown) => e)
      expect(isTidingsError(error, 'quota/exceeded')).toBe(true)
      expect((error as Error).cause).toMatchObject({ name: 'QuotaExceededError' })
      expect(await storage.getMeta('seq')).toBe('1')
      expect(await storage.load('c/normal/0')).toHaveLength(1)
      expect(await storage.outbox()).toEqual([])
      // Space came back: the same batch goes through.
      await storage.write({ updates: [{ doc: 'c/normal/0', update: bytes(2) }], meta: { seq: '2' } })
      expect(await storage.getMeta('seq')).toBe('2')
      await storage.close()
      await new Promise((resolve) => setTimeout(resolve, 10))
      expect(unhandled).toEqual([])
    })
  }

  it('reports quota/exceeded through a client send, never as an unhandled rejection', async () => {
    const { createClient } = await import('@tidings/core')
    let hook: ((t: TransactionSeen) => void) | undefined
    const browser = fakeBrowser({ transaction: (t) => hook?.(t) })
    const client = createClient({ user: 'ann', storage: browser.open() })
    const room = await client.open('room')
    await room.send('fits')
    hook = failWrites('commit-aborts')
    await expect(room.send('too much')).rejects.toMatchObject({ code: 'quota/exceeded' })
    hook = undefined
    await room.send('fits again')
    expect(room.messages().map((m) => m.body)).toEqual(['fits', 'fits again'])
    await client.close()
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(unhandled).toEqual([])
  })
})

describe('a closing connection', () => {
  it('is reopened and the batch retried when the browser closed it silently', async () => {
    const connections: IDBDatabase[] = []
    const browser = fakeBrowser({ connection: (db) => connections.push(db) })
    const storage = browser.open()
    await storage.write({ meta: { a: '1' } })
    connections[0]!.close() // what Safari does to an idle connection, without an event
    await storage.write({ meta: { a: '2' } })
    expect(connections).toHaveLength(2)
    expect(await storage.getMeta('a')).toBe('2')
    await storage.close()
  })

  it('is reopened after a forced close (close event)', async () => {
    const connections: IDBDatabase[] = []
    const browser = fakeBrowser({ connection: (db) => connections.push(db) })
    const storage = browser.open()
    await storage.write({ meta: { a: '1' } })
    const closed = new Promise((resolve) => connections[0]!.addEventListener('close', resolve))
    forceCloseDatabase(connections[0] as never) // its types want the class, not an instance
    await closed
    await storage.write({ meta: { a: '2' } })
    expect(connections).toHaveLength(2)
    expect(await storage.getMeta('a')).toBe('2')
    await storage.close()
  })

  it('retries a batch whose transaction the lost connection aborted', async () => {
    let breakNext = false
    const browser = fakeBrowser({
      transaction: ({ tx, db, mode }) => {
        if (mode !== 'readwrite' || !breakNext) return
        breakNext = false
        const lost = new DOMException('Connection to Indexed Database server lost.', 'UnknownError')
        queueMicrotask(() => {
          Object.defineProperty(tx, 'error', { get: () => lost, set: () => {} })
          tx.abort()
          db.close()
        })
      },
    })
    const storage = browser.open()
    await storage.write({ updates: [{ doc: 'c/meta', update: bytes(1) }] })
    breakNext = true
    await storage.write({ updates: [{ doc: 'c/meta', update: bytes(2) }], meta: { seq: '2' } })
    expect((await storage.load('c/meta')).map((r) => [...r.update])).toEqual([[1], [2]])
    expect(await storage.getMeta('seq')).toBe('2')
    await storage.close()
  })

  it('retries once only', async () => {
    let attempts = 0
    const browser = fakeBrowser({
      // Every connection refuses read-write transactions as a closing one does.
      connection: (db) => {
        const transaction = db.transaction.bind(db)
        db.transaction = ((...args: Parameters<IDBDatabase['transaction']>) => {
          if (args[1] === 'readwrite') {
            attempts++
            throw new DOMException('The database connection is closing.', 'InvalidStateError')
          }
          return transaction(...args)
        }) as IDBDatabase['transaction']
      },
    })
    const storage = browser.open()
    await expect(storage.write({ meta: { a: '1' } })).rejects.toMatchObject({ name: 'InvalidStateError' })
    expect(attempts).toBe(2)
    expect(await storage.getMeta('a')).toBeUndefined()
    await storage.close()
  })

  it('steps aside for another tab that deletes the database, then works on a fresh one', async () => {
    const browser = fakeBrowser()
    const storage = browser.open({ name: 'shared' })
    await storage.write({ meta: { a: '1' } })
    await new Promise<void>((resolve, reject) => {
      const request = browser.indexedDB.deleteDatabase('shared')
      request.onsuccess = () => resolve()
      request.onerror = () => reject(request.error)
      request.onblocked = () => reject(new Error('blocked: the adapter did not close on versionchange'))
    })
    await storage.write({ meta: { b: '2' } })
    expect(await storage.getMeta('a')).toBeUndefined()
    expect(await storage.getMeta('b')).toBe('2')
    await storage.close()
  })

  it('reports a database upgraded by a newer version as storage/corrupt', async () => {
    const browser = fakeBrowser()
    const storage = browser.open({ name: 'upgraded' })
    await storage.write({ meta: { a: '1' } })
    const newer = await rawOpen(browser.indexedDB, 'upgraded', VERSION + 1)
    await expect(storage.getMeta('a')).rejects.toMatchObject({ code: 'storage/corrupt', subject: 'upgraded' })
    newer.close()
    await storage.close()
  })
})

describe('compaction', () => {
  it('changes nothing when its transaction aborts after deleting the old rows', async () => {
    let breakAdd = false
    const browser = fakeBrowser({
      transaction: ({ tx, mode }) => {
        if (mode !== 'readwrite' || !breakAdd) return
        const objectStore = tx.objectStore.bind(tx)
        tx.objectStore = (name: string) => {
          const store = objectStore(name)
          if (name === 'updates')
            store.add = () => {
              throw new DOMException('Simulated crash between delete and add.', 'UnknownError')
            }
          return store
        }
      },
    })
    const storage = browser.open()
    const { Doc, encodeStateAsUpdate } = await import('yjs')
    const author = new Doc()
    const rows: Uint8Array[] = []
    author.on('update', (u: Uint8Array) => rows.push(u))
    for (let i = 0; i < 3; i++) author.getMap('m').set(`k${i}`, i)
    for (const update of rows) await storage.write({ updates: [{ doc: 'c/normal/0', update, messages: 1 }] })
    breakAdd = true
    await expect(storage.compact('c/normal/0')).rejects.toMatchObject({ name: 'UnknownError' })
    breakAdd = false
    expect((await storage.load('c/normal/0')).map((r) => r.n)).toEqual([1, 2, 3])
    expect(await storage.listDocs('c')).toEqual([{ doc: 'c/normal/0', updates: 3, messages: 3, newest: 0 }])
    await storage.compact('c/normal/0')
    const [merged] = await storage.load('c/normal/0')
    expect(merged!.n).toBe(4)
    const check = new Doc()
    const { applyUpdate } = await import('yjs')
    applyUpdate(check, merged!.update)
    expect(check.getMap('m').toJSON()).toEqual({ k0: 0, k1: 1, k2: 2 })
    expect(encodeStateAsUpdate(check)).toEqual(encodeStateAsUpdate(author))
    await storage.close()
  })
})
