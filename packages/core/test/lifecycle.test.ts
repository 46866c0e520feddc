import { describe, expect, it } from 'vitest'
import { createClient, loopbackHub, memoryStorage } from '../src/index.js'
import { device, manualTime, reusable } from './helpers.js'

describe('a closed conversation', () => {
  it('refuses pin, unpin, markRead and setRetainedFrom with conversation/closed and changes nothing', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const storage = memoryStorage()
    const alice = device(hub, 'alice', time)
    // Bob's storage outlives his client, as an app's own storage may: nothing must reach it.
    const bob = device(hub, 'bob', time, { storage: reusable(storage) })
    const a = await alice.client.open('room')
    const b = await bob.client.open('room')
    const pinned = await a.send('pinned')
    const other = await a.send('other')
    await hub.flush()
    await b.pin(pinned.id)
    await hub.flush()
    await bob.client.close()

    const unread = b.unreadIds()
    expect(unread).toEqual([pinned.id, other.id])
    const closed = { code: 'conversation/closed' }
    await expect(b.pin(other.id)).rejects.toMatchObject(closed)
    await expect(b.unpin(pinned.id)).rejects.toMatchObject(closed)
    await expect(b.markRead(other.id)).rejects.toMatchObject(closed)
    await expect(b.setRetainedFrom(time.now())).rejects.toMatchObject(closed)
    expect(b.unreadIds()).toEqual(unread)
    expect(b.pins().map((p) => p.id)).toEqual([pinned.id])
    expect(b.retainedFrom).toBe(0)

    const again = createClient({ user: 'bob', storage: reusable(storage), clock: { now: time.now } })
    const b2 = await again.open('room')
    expect(b2.unreadIds()).toEqual(unread)
    expect(b2.pins().map((p) => p.id)).toEqual([pinned.id])
    expect(b2.retainedFrom).toBe(0)
    await Promise.all([again.close(), alice.client.close()])
  })
})

describe('whenSynced() and close()', () => {
  it('rejects waiting and later callers with client/closed instead of hanging', async () => {
    // A manual hub moves no frame until flushed: the link never syncs, only close() ends the wait.
    const hub = loopbackHub({ manual: true })
    const client = createClient({ user: 'ann', storage: memoryStorage(), transport: hub.transport() })
    await client.open('log')
    const waiting = client.whenSynced()
    await client.close()
    await expect(waiting).rejects.toMatchObject({ code: 'client/closed' })
    await expect(client.whenSynced()).rejects.toMatchObject({ code: 'client/closed' })
  })
})

describe('memoryStorage().reopen()', () => {
  it('simulates a restart on the same in-memory store after client.close()', async () => {
    const time = manualTime()
    const storage = memoryStorage()
    const first = createClient({ user: 'ann', storage, clock: { now: time.now } })
    const c1 = await first.open('log')
    const m1 = await c1.send('before')
    await first.close()
    await expect(storage.getMeta('device')).rejects.toMatchObject({ code: 'storage/closed' })

    const second = createClient({ user: 'ann', storage: storage.reopen(), clock: { now: time.now } })
    const c2 = await second.open('log')
    const m2 = await c2.send('after')
    expect(second.device).toBe(first.device)
    expect(c2.messages().map((m) => m.id)).toEqual([m1.id, m2.id])
    expect(c2.status(m1.id)).toBe('pending')
    await second.close()
  })

  it('simulates a crash: the handle of the dead process is closed, the new one sees every commit', async () => {
    const storage = memoryStorage()
    const crashed = createClient({ user: 'ann', storage })
    const c1 = await crashed.open('log')
    const m1 = await c1.send('durable before the crash')
    const fresh = storage.reopen()
    // The old client's writes fail from now on, as its process is gone.
    await expect(c1.send('after the crash')).rejects.toMatchObject({ code: 'storage/closed' })
    const next = createClient({ user: 'ann', storage: fresh })
    const c2 = await next.open('log')
    expect(c2.messages().map((m) => [m.id, m.body])).toEqual([[m1.id, 'durable before the crash']])
    await next.close()
  })
})
