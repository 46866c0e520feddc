import { createClient, isTidingsError } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { describe, expect, it } from 'vitest'
import { bytes, diskSize, noise, useTempDir } from './helpers.js'

const tempPath = useTempDir()

const isFull = (e: unknown) => isTidingsError(e, 'storage/full')

describe('disk space', () => {
  it('reports a full disk as storage/full, damages nothing, and writes again once space returns', async () => {
    const store = sqliteStorage({ path: tempPath() })
    await store.write({
      updates: [{ doc: 'c/d', update: noise(10_000, 1), messages: 1 }],
      meta: { seq: '1' },
    })
    const pages = store.database.pragma('page_count', { simple: true }) as number
    store.database.pragma(`max_page_count = ${pages + 2}`)

    const big = { doc: 'c/d', update: noise(200_000, 2), messages: 1 }
    await expect(store.write({ updates: [big], meta: { seq: '2' } })).rejects.toSatisfy(isFull)
    // A small write grouped with the one that does not fit still commits.
    const [small, tooBig] = await Promise.allSettled([
      store.write({ meta: { note: 'fits' } }),
      store.write({ updates: [big], meta: { seq: '2' } }),
    ])
    expect(small.status).toBe('fulfilled')
    expect(tooBig.status === 'rejected' && isFull(tooBig.reason)).toBe(true)

    expect(await store.load('c/d')).toEqual([{ n: 1, update: noise(10_000, 1) }])
    expect(await store.getMeta('seq')).toBe('1')
    expect(await store.getMeta('note')).toBe('fits')
    expect(await store.listDocs('c')).toEqual([{ doc: 'c/d', updates: 1, messages: 1, newest: 0 }])
    expect(store.database.pragma('integrity_check', { simple: true })).toBe('ok')

    store.database.pragma(`max_page_count = ${pages + 1000}`)
    await store.write({ updates: [big], meta: { seq: '2' } })
    expect((await store.load('c/d')).map((r) => r.n)).toEqual([1, 2])
    expect(await store.getMeta('seq')).toBe('2')
    await store.close()
  })

  it('lets a client send again after a full disk, with no seq skipped or reused', async () => {
    const storage = sqliteStorage({ path: tempPath() })
    const client = createClient({ user: 'ann', storage })
    const convo = await client.open('room')
    const first = await convo.send('before')
    const pages = storage.database.pragma('page_count', { simple: true }) as number
    storage.database.pragma(`max_page_count = ${pages}`)
    await expect(convo.send({ text: 'x'.repeat(30_000) })).rejects.toSatisfy(isFull)
    expect(convo.messages().map((m) => m.id)).toEqual([first.id])
    storage.database.pragma(`max_page_count = ${pages + 1000}`)
    const second = await convo.send({ text: 'x'.repeat(30_000) })
    expect(second.id).toBe(`${client.device}.2`)
    expect(convo.pending().map((m) => m.id)).toEqual([first.id, second.id])
    await client.close()
  })

  it('gives the space of a dropped doc back to the file system', async () => {
    const path = tempPath()
    const store = sqliteStorage({ path })
    await store.write({ updates: [{ doc: 'c/small', update: bytes(1, 2, 3) }] })
    for (let i = 0; i < 20; i++)
      await store.write({ updates: [{ doc: 'c/big', update: noise(100_000, i + 1) }] })
    const before = diskSize(path)
    await store.drop('c/big')
    const after = diskSize(path)
    expect(before).toBeGreaterThan(2_000_000)
    expect(after).toBeLessThan(before - 1_900_000)
    expect(await store.load('c/small')).toEqual([{ n: 1, update: bytes(1, 2, 3) }])
    await store.close()
  })
})
