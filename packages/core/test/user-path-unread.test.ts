import { describe, expect, it } from 'vitest'
import { createClient, loopbackHub, memoryStorage } from '../src/index.js'
import { device, manualTime } from './helpers.js'
import { DAY, everything, HOUR, restart } from './user-path-helpers.js'

describe('user path: unread', () => {
  it('retention: nothing dropped stays unread, on an online and an offline reader, across a restart', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const opts = { periodMs: DAY, firstScreen: 2 }
    const bStore = memoryStorage()
    const a = device(hub, 'alice', time, opts)
    const b = device(hub, 'bob', time, { ...opts, storage: bStore })
    const c = device(hub, 'carol', time, opts)
    const [ca, cb, cc] = await Promise.all([a, b, c].map((d) => d.client.open('room')))
    for (let i = 0; i < 6; i++) {
      await ca!.send(`old ${i}`)
      time.advance(DAY / 2)
    }
    await hub.flush()
    expect(cb!.unreadCount()).toBe(6)
    expect(cc!.unreadCount()).toBe(6)
    c.offline()
    const recent = await ca!.send('recent')
    await hub.flush()
    await ca!.setRetainedFrom(time.now() - DAY / 2)
    await hub.flush()
    // Bob online: only what retention kept.
    const kept = cb!.unreadIds()
    expect(kept).toContain(recent.id)
    await everything(cb!)
    const visible = cb!.messages().map((m) => m.id)
    expect([...kept].sort()).toEqual([...visible].sort())
    // Carol comes back afterwards.
    c.online()
    await hub.flush()
    await everything(cc!)
    expect([...cc!.unreadIds()].sort()).toEqual(
      cc!
        .messages()
        .map((m) => m.id)
        .sort(),
    )
    expect(cc!.unreadCount()).toBe(cb!.unreadCount())
    // Bob restarts.
    b.offline()
    await b.client.close()
    const b2 = restart(hub, 'bob', bStore, time.now, opts)
    const cb2 = await b2.open('room')
    await hub.flush()
    expect(cb2.unreadCount()).toBe(kept.length)
    expect(b2.conversations().find((x) => x.id === 'room')?.unread).toBe(kept.length)
    await Promise.all([a.client.close(), b2.close(), c.client.close()])
  })

  it('deletes in periods not loaded are not unread, whatever order tombstone and message arrive in', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const opts = { periodMs: HOUR, firstScreen: 2 }
    const a = device(hub, 'alice', time, opts)
    const b = device(hub, 'bob', time, opts)
    const ca = await a.client.open('room')
    const sent = []
    for (let i = 0; i < 6; i++) {
      sent.push(await ca.send(`m${i}`))
      time.advance(HOUR)
    }
    await hub.flush()
    const cb = await b.client.open('room')
    await hub.flush()
    expect(cb.unreadCount()).toBe(6)
    await ca.delete(sent[0]!.id)
    await ca.delete(sent[4]!.id)
    await hub.flush()
    expect(cb.unreadCount()).toBe(4)
    expect(cb.unreadIds()).not.toContain(sent[0]!.id)
    // A third reader who was offline all along gets message and tombstone together, reversed.
    const c = device(hub, 'carol', time, opts)
    const cc = await c.client.open('room')
    // deliver frames in reverse order
    while (hub.queue.length) hub.deliver(hub.queue.length - 1)
    await hub.flush()
    expect(cc.unreadCount()).toBe(4)
    // Alice, offline, writes into an old period and deletes it right away: never unread.
    a.offline()
    const slow = createClient({
      user: 'alice',
      transport: hub.transport(),
      clock: { now: () => time.now() - 4 * HOUR },
      receiptDelay: 0,
      ...opts,
    })
    const cs = await slow.open('room')
    await hub.flush()
    const late = await cs.send('late')
    await hub.flush()
    expect(cb.unreadIds()).toContain(late.id)
    await cs.delete(late.id)
    await hub.flush()
    expect(cb.unreadIds()).not.toContain(late.id)
    expect(cc.unreadIds()).not.toContain(late.id)
    expect(cb.unreadCount()).toBe(4)
    await Promise.all([a.client.close(), b.client.close(), c.client.close(), slow.close()])
  })

  it('a device writing to two conversations keeps one dense range per conversation', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const store = memoryStorage()
    const a = device(hub, 'alice', time, { storage: store })
    const b = device(hub, 'bob', time)
    const [x, y] = [await a.client.open('x'), await a.client.open('y')]
    const seqs: Record<string, number[]> = { x: [], y: [] }
    for (let i = 0; i < 20; i++) {
      const c = i % 3 === 0 ? y : x
      const m = await c.send(`${i}`)
      seqs[i % 3 === 0 ? 'y' : 'x']!.push(Number(m.id.split('.').pop()))
    }
    await a.client.close()
    const a2 = createClient({
      user: 'alice',
      storage: store.reopen(),
      transport: hub.transport(),
      clock: { now: time.now },
    })
    const [x2, y2] = [await a2.open('x'), await a2.open('y')]
    for (let i = 0; i < 6; i++) {
      const m = await (i % 2 ? x2 : y2).send(`after ${i}`)
      seqs[i % 2 ? 'x' : 'y']!.push(Number(m.id.split('.').pop()))
    }
    for (const k of ['x', 'y']) {
      const s = seqs[k]!
      expect(s).toEqual(s.map((_, i) => s[0]! + i))
    }
    await hub.flush()
    const bx = await b.client.open('x')
    await hub.flush()
    const receipts = [...hub.docs].filter(([name]) => name.startsWith('x/receipts'))
    const size = receipts.reduce((n, [, u]) => n + u.length, 0)
    expect(bx.messages()).toHaveLength(seqs.x!.length)
    expect(size).toBeLessThan(2000)
    await Promise.all([a2.close(), b.client.close()])
  })
})
