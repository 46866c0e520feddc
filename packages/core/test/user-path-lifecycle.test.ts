import { describe, expect, it } from 'vitest'
import { createClient, isTidingsError, loopbackHub, memoryStorage } from '../src/index.js'
import { device, manualTime } from './helpers.js'
import { exported, restart } from './user-path-helpers.js'

const RANK = { pending: 0, sent: 1, delivered: 2, read: 3, expired: 4 } as const

describe('user path: lifecycle', () => {
  it('import() while online reaches peers, and a second import changes nothing', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const src = createClient({ user: 'alice', clock: { now: time.now } })
    const s = await src.open('old')
    const m1 = await s.send('one')
    await s.send('two')
    await s.edit(m1.id, 'one edited')
    const dump = await exported(s)
    const a = device(hub, 'alice', time)
    const b = device(hub, 'bob', time)
    const [ca, cb] = await Promise.all([a, b].map((d) => d.client.open('room')))
    await hub.flush()
    await ca!.import(dump)
    await hub.flush()
    expect(cb!.messages().map((m) => m.body)).toEqual(['one edited', 'two'])
    expect(ca!.messages().map((m) => m.id)).toEqual(cb!.messages().map((m) => m.id))
    await ca!.import(dump)
    await hub.flush()
    expect(cb!.messages()).toHaveLength(2)
    // Then Alice sends: ids stay unique.
    const m3 = await ca!.send('three')
    await hub.flush()
    expect(new Set(cb!.messages().map((m) => m.id)).size).toBe(3)
    expect(cb!.messages().map((m) => m.id)).toContain(m3.id)
    await Promise.all([src.close(), a.client.close(), b.client.close()])
  })

  it('whenSynced() resolves only after the history is in messages()', async () => {
    const hub = loopbackHub()
    const time = manualTime()
    const a = device(hub, 'alice', time)
    const ca = await a.client.open('room')
    for (let i = 0; i < 30; i++)
      await ca.send(`m${i}`, { priority: (['urgent', 'high', 'normal', 'low'] as const)[i % 4]! })
    await a.client.whenSynced()
    const b = device(hub, 'bob', time)
    const cb = await b.client.open('room')
    await b.client.whenSynced()
    expect(cb.messages()).toHaveLength(30)
    expect(cb.unreadCount()).toBe(30)
    // Same for a second conversation opened after sync.
    const cx = await b.client.open('room')
    expect(cx.messages()).toHaveLength(30)
    await Promise.all([a.client.close(), b.client.close()])
  })

  it('no status flicker: every status a subscriber sees only moves forward, online and offline', async () => {
    for (const mode of ['online', 'offline', 'offline-restart'] as const) {
      const hub = loopbackHub({ manual: true })
      const time = manualTime()
      const aStore = memoryStorage()
      const a = device(hub, 'alice', time, { storage: aStore })
      const b = device(hub, 'bob', time)
      const [ca, cb] = await Promise.all([a, b].map((d) => d.client.open('room')))
      await hub.flush()
      if (mode !== 'online') a.offline()
      const seen: string[] = []
      let id = ''
      ca!.subscribe(() => {
        if (id) seen.push(ca!.status(id))
      })
      const sending = ca!.send('hello')
      id = (await sending).id
      seen.push(ca!.status(id))
      let cur = ca!
      if (mode === 'offline-restart') {
        await a.client.close()
        const a2 = restart(hub, 'alice', aStore, time.now)
        cur = await a2.open('room')
        seen.push(cur.status(id))
        cur.subscribe(() => seen.push(cur.status(id)))
      } else if (mode === 'offline') {
        a.online()
      }
      // deliver one frame at a time, duplicates included
      while (hub.queue.length) {
        hub.duplicate(0)
        hub.deliver(0)
        await Promise.resolve()
      }
      await hub.flush()
      await cb!.markRead(id)
      await hub.flush()
      for (let i = 1; i < seen.length; i++)
        expect(RANK[seen[i] as keyof typeof RANK]).toBeGreaterThanOrEqual(
          RANK[seen[i - 1] as keyof typeof RANK],
        )
      expect(seen[0]).toBe('pending')
      expect(seen.at(-1)).toBe('read')
      await b.client.close()
    }
  })

  it('a throwing subscriber does not break send() or close()', async () => {
    const hub = loopbackHub()
    const time = manualTime()
    const a = device(hub, 'alice', time)
    const errors: unknown[] = []
    a.client.on('error', (e) => errors.push(e))
    a.client.on('connection', () => {
      throw new Error('connection listener')
    })
    const c = await a.client.open('room')
    c.subscribe(() => {
      throw new Error('boom')
    })
    const seen: number[] = []
    c.subscribe(() => seen.push(c.messages().length))
    const m = await c.send('still sent')
    await c.edit(m.id, 'edited')
    await c.pin(m.id)
    await c.markRead(m.id)
    await a.client.whenSynced()
    expect(c.status(m.id)).not.toBe('pending')
    expect(seen.length).toBeGreaterThan(0)
    expect(errors.length).toBeGreaterThan(0)
    await expect(a.client.close()).resolves.toBeUndefined()
  })

  it('pin/unpin/markRead/setRetainedFrom/edit/delete after close reject and change nothing', async () => {
    const time = manualTime()
    const store = memoryStorage()
    const client = createClient({ user: 'ann', storage: store, clock: { now: time.now }, receiptDelay: 0 })
    const c = await client.open('room')
    const m = await c.send('x')
    const m2 = await c.send('y')
    await c.pin(m2.id)
    await new Promise((r) => setTimeout(r, 20))
    const before = await exported(c)
    await client.close()
    const calls: [string, () => Promise<unknown>][] = [
      ['pin', () => c.pin(m.id)],
      ['unpin', () => c.unpin(m2.id)],
      ['markRead', () => c.markRead(m2.id)],
      ['setRetainedFrom', () => c.setRetainedFrom(time.now())],
      ['edit', () => c.edit(m.id, 'z')],
      ['delete', () => c.delete(m.id)],
      ['send', () => c.send('z')],
      ['import', () => c.import(before)],
    ]
    for (const [name, call] of calls) {
      let error: unknown
      try {
        await call()
      } catch (e) {
        error = e
      }
      expect(error, name).toBeDefined()
      expect(isTidingsError(error, 'conversation/closed'), `${name}: ${String(error)}`).toBe(true)
    }
    expect(c.retainedFrom).toBe(0)
    expect(c.pins().map((p) => p.id)).toEqual([m2.id])
    const again = createClient({ user: 'ann', storage: store.reopen(), clock: { now: time.now } })
    const c2 = await again.open('room')
    expect(await exported(c2)).toBe(before)
    expect(c2.retainedFrom).toBe(0)
    expect(c2.pins().map((p) => p.id)).toEqual([m2.id])
    await again.close()
  })

  it('lone surrogates become U+FFFD identically on every device, in keys too, after export/import', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const a = device(hub, 'alice', time)
    const b = device(hub, 'bob', time)
    const [ca, cb] = await Promise.all([a, b].map((d) => d.client.open('room')))
    const cut = '😀'.slice(0, 1)
    const low = '😀'.slice(1)
    const m = await ca!.send({ text: `a${cut}b`, [`k${low}`]: [low, `${cut}${cut}`, '😀'] })
    expect(m.body).toEqual({ text: 'a\uFFFDb', 'k\uFFFD': ['\uFFFD', '\uFFFD\uFFFD', '😀'] })
    await hub.flush()
    expect(cb!.messages()[0]!.body).toEqual(m.body)
    await ca!.edit(m.id, `edit${low}`)
    await hub.flush()
    expect(cb!.messages()[0]!.body).toBe('edit\uFFFD')
    expect(ca!.messages()[0]!.body).toBe('edit\uFFFD')
    await cb!.pin(m.id)
    await hub.flush()
    expect(ca!.pins()[0]!.body).toBe('edit\uFFFD')
    const copy = createClient({ user: 'alice' })
    const cc = await copy.open('copy')
    await cc.import(await exported(ca!))
    expect(cc.messages()[0]!.body).toBe('edit\uFFFD')
    await Promise.all([a.client.close(), b.client.close(), copy.close()])
  })

  it('memoryStorage reopen: a crash keeps committed writes, the old handle is closed, seqs continue', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const store = memoryStorage()
    const a = device(hub, 'alice', time, { storage: store })
    const b = device(hub, 'bob', time)
    const [ca, cb] = await Promise.all([a, b].map((d) => d.client.open('room')))
    const m1 = await ca!.send('one')
    const m2 = await ca!.send('two')
    await ca!.edit(m1.id, 'one edited')
    // Crash: reopen while the first client runs.
    const after = restart(hub, 'alice', store, time.now)
    await expect(ca!.send('after crash on the old handle')).rejects.toBeDefined()
    const c2 = await after.open('room')
    expect(c2.messages().map((m) => m.body)).toEqual(['one edited', 'two'])
    expect(c2.pending().map((m) => m.id)).toEqual([m1.id, m2.id])
    const m3 = await c2.send('three')
    expect([m1.id, m2.id]).not.toContain(m3.id)
    await hub.flush()
    expect(cb!.messages().map((m) => m.body)).toEqual(['one edited', 'two', 'three'])
    for (const id of [m1.id, m2.id, m3.id]) expect(c2.status(id)).not.toBe('pending')
    // A clean close and second reopen still agree.
    await after.close()
    const third = createClient({ user: 'alice', storage: store.reopen(), clock: { now: time.now } })
    const c3 = await third.open('room')
    expect(c3.messages().map((m) => m.body)).toEqual(['one edited', 'two', 'three'])
    expect(c3.pending()).toEqual([])
    await Promise.all([a.client.close().catch(() => {}), b.client.close(), third.close()])
  })
})
