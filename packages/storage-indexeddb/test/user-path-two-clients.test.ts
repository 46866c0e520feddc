import { createClient } from '@tidings/core'
import { indexeddbStorage } from '@tidings/storage-indexeddb'
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'

describe('user path: two IndexedDB clients on one database in one process', () => {
  it('the second is refused, its close() does not release the first one, and nothing it tried is written', async () => {
    const indexedDB = new IDBFactory()
    const open = () => indexeddbStorage({ name: 'app', indexedDB, IDBKeyRange })
    const first = createClient({ user: 'ann', storage: open() })
    const c1 = await first.open('room')
    await c1.send('one')
    const second = createClient({ user: 'ann', storage: open() })
    await expect(second.open('room')).rejects.toMatchObject({ code: 'storage/locked' })
    await expect(second.open('other')).rejects.toMatchObject({ code: 'storage/locked' })
    await second.close()
    // The first still holds it: a third client is refused too.
    const third = createClient({ user: 'ann', storage: open() })
    await expect(third.open('room')).rejects.toMatchObject({ code: 'storage/locked' })
    await third.close()
    const m2 = await c1.send('two')
    await first.close()
    const fourth = createClient({ user: 'ann', storage: open() })
    const c4 = await fourth.open('room')
    expect(c4.messages().map((m) => m.body)).toEqual(['one', 'two'])
    const m3 = await c4.send('three')
    expect(m3.id).not.toBe(m2.id)
    expect(fourth.device).toBe(first.device)
    await fourth.close()
  })

  it('two clients created at once: exactly one wins', async () => {
    const indexedDB = new IDBFactory()
    const open = () => indexeddbStorage({ name: 'app', indexedDB, IDBKeyRange })
    const x = createClient({ user: 'ann', storage: open() })
    const y = createClient({ user: 'ann', storage: open() })
    const results = await Promise.allSettled([x.open('room'), y.open('room')])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(rejected.reason).toMatchObject({ code: 'storage/locked' })
    await Promise.all([x.close(), y.close()])
  })
})
