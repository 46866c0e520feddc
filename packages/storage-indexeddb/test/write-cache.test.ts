import type { OutboxEntry, WriteBatch } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import { bytes, fakeBrowser, memoryLocks, rawOpen, rawRequest, type TransactionSeen } from './helpers.js'

const DOC = 'c/normal/0'
const READS = ['get', 'getAll', 'getAllKeys', 'count', 'openCursor', 'openKeyCursor'] as const

/** Counts the read requests made in read-write transactions, on stores and on their indexes. */
const countReads = () => {
  const seen = { reads: 0 }
  const wrap = (target: IDBObjectStore | IDBIndex) => {
    for (const method of READS) {
      const inner = (target[method] as (...args: unknown[]) => IDBRequest).bind(target)
      ;(target as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        seen.reads++
        return inner(...args)
      }
    }
  }
  const hook = ({ tx, mode }: TransactionSeen) => {
    if (mode !== 'readwrite') return
    const objectStore = tx.objectStore.bind(tx)
    tx.objectStore = (name: string) => {
      const store = objectStore(name)
      wrap(store)
      const index = store.index.bind(store)
      store.index = (indexName: string) => {
        const found = index(indexName)
        wrap(found)
        return found
      }
      return store
    }
  }
  return { seen, hook }
}

const entry = (key: string): OutboxEntry => ({
  key,
  doc: DOC,
  lane: 'normal',
  update: bytes(1),
  messages: [key],
})
const send = (i: number): WriteBatch => ({
  updates: [{ doc: DOC, update: bytes(i), messages: 1, newest: i }],
  meta: { seq: String(i) },
  outbox: [entry(`k${i}`)],
})

/** A Web Locks manager whose lock another context can steal (`steal: true` in a browser). */
const stealableLocks = () => {
  let stolen: (() => void) | undefined
  return {
    steal: () => stolen?.(),
    request(name: string, _options: { ifAvailable: boolean }, callback: (lock: Lock | null) => unknown) {
      return new Promise((resolve, reject) => {
        // The browser rejects the request of the lock that was stolen with an AbortError.
        stolen = () => reject(new DOMException('The lock was stolen.', 'AbortError'))
        Promise.resolve(callback({ name, mode: 'exclusive' } as Lock)).then(resolve, reject)
      })
    },
  }
}

describe('writes holding the Web Lock', () => {
  it('read nothing before writing once the doc and the outbox are known', async () => {
    const { seen, hook } = countReads()
    const browser = fakeBrowser({ transaction: hook })
    const storage = browser.open({ name: 'w', locks: memoryLocks() })
    await storage.write(send(1))
    const afterFirst = seen.reads
    expect(afterFirst).toBeGreaterThan(0)
    for (let i = 2; i <= 5; i++) await storage.write(send(i))
    expect(seen.reads).toBe(afterFirst)
    // A rewritten key keeps its place: that alone is read.
    await storage.write({ outbox: [{ ...entry('k2'), messages: ['k2', 'again'] }], acked: ['k3'] })
    expect(seen.reads).toBe(afterFirst + 1)
    expect((await storage.outbox()).map((e) => e.key)).toEqual(['k1', 'k2', 'k4', 'k5'])
    expect(await storage.listDocs('c')).toEqual([{ doc: DOC, updates: 5, messages: 5, newest: 5 }])
    await storage.close()
  })

  it('keep counts and order right when concurrent writes fail in the middle', async () => {
    let seenWrites = 0
    const browser = fakeBrowser({
      transaction: ({ tx, mode }) => {
        if (mode !== 'readwrite' || ++seenWrites !== 4) return
        queueMicrotask(() => tx.abort())
      },
    })
    const storage = browser.open({ name: 'w', locks: memoryLocks() })
    await storage.write(send(1))
    const results = await Promise.allSettled([2, 3, 4, 5, 6].map((i) => storage.write(send(i))))
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ])
    await storage.write(send(7))
    const keys = ['k1', 'k2', 'k3', 'k5', 'k6', 'k7']
    expect((await storage.outbox()).map((e) => e.key)).toEqual(keys)
    expect(await storage.listDocs('c')).toEqual([{ doc: DOC, updates: 6, messages: 6, newest: 7 }])
    expect((await storage.load(DOC)).map((r) => r.update[0])).toEqual([1, 2, 3, 5, 6, 7])
    await storage.close()
  })

  it('stop once the lock was stolen: every write is refused, reads see the other writer', async () => {
    const browser = fakeBrowser()
    const locks = stealableLocks()
    const storage = browser.open({ name: 'w', locks })
    await storage.write(send(1))
    await storage.write(send(2))
    locks.steal()
    await new Promise((resolve) => setTimeout(resolve, 0))
    // The thief writes the next row of the doc and its record, as another tab's adapter would.
    const side = await rawOpen(browser.raw, 'w')
    await rawRequest(side, 'updates', 'readwrite', (s) => s.add(bytes(9), [DOC, 3]))
    await rawRequest(side, 'docs', 'readwrite', (s) =>
      s.put({ updates: 3, messages: 3, newest: 9, next: 4 }, DOC),
    )
    side.close()
    const refused = await storage.write(send(4)).catch((e: unknown) => e)
    expect(refused).toMatchObject({ code: 'storage/locked' })
    expect((refused as Error).message).toMatch(/took the Web Lock/)
    await expect(storage.compact(DOC)).rejects.toMatchObject({ code: 'storage/locked' })
    await expect(storage.drop(DOC)).rejects.toMatchObject({ code: 'storage/locked' })
    expect(await storage.listDocs('c')).toEqual([{ doc: DOC, updates: 3, messages: 3, newest: 9 }])
    expect((await storage.load(DOC)).map((r) => r.update[0])).toEqual([1, 2, 9])
    expect((await storage.outbox()).map((e) => e.key)).toEqual(['k1', 'k2'])
    await storage.close()
  })

  it('start over on a database another tab deleted', async () => {
    const browser = fakeBrowser()
    const storage = browser.open({ name: 'w', locks: memoryLocks() })
    await storage.write(send(1))
    await storage.write(send(2))
    await new Promise<void>((resolve, reject) => {
      const request = browser.indexedDB.deleteDatabase('w')
      request.onsuccess = () => resolve()
      request.onerror = () => reject(request.error)
    })
    await storage.write(send(3))
    expect(await storage.listDocs('c')).toEqual([{ doc: DOC, updates: 1, messages: 1, newest: 3 }])
    expect((await storage.outbox()).map((e) => e.key)).toEqual(['k3'])
    await storage.close()
  })
})
