import { describe, expect, it } from 'vitest'
import { loopbackHub, memoryStorage } from '../src/index.js'
import { device, manualTime } from './helpers.js'
import { everything, exported, HOUR, restart } from './user-path-helpers.js'

const SECRET = 'zebra-9931'

describe('user path: combinations', () => {
  it('markRead, then a crash before the receipt is published: still read after reopen and for the author', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const bStore = memoryStorage()
    const a = device(hub, 'alice', time)
    const b = device(hub, 'bob', time, { storage: bStore, receiptDelay: 60_000 })
    const [ca, cb] = await Promise.all([a, b].map((d) => d.client.open('room')))
    const m1 = await ca!.send('one')
    const m2 = await ca!.send('two')
    await hub.flush()
    await cb!.markRead(m2.id)
    expect(cb!.unreadCount()).toBe(0)
    // crash
    const b2 = restart(hub, 'bob', bStore, time.now)
    const cb2 = await b2.open('room')
    await hub.flush()
    expect(cb2.unreadCount()).toBe(0)
    await hub.flush()
    expect(ca!.status(m1.id)).toBe('read')
    expect(cb2.status(m2.id)).toBe('read')
    await Promise.all([a.client.close(), b2.close(), b.client.close().catch(() => {})])
  })

  it('a late message with an early stamp is unread for readers who read before, in an unloaded period, across restart', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const opts = { periodMs: HOUR, firstScreen: 2 }
    const bStore = memoryStorage()
    const a = device(hub, 'alice', time, opts)
    const b = device(hub, 'bob', time, { ...opts, storage: bStore })
    const [ca, cb] = await Promise.all([a, b].map((d) => d.client.open('room')))
    let last = await ca!.send('m0')
    for (let i = 1; i < 6; i++) {
      time.advance(HOUR)
      last = await ca!.send(`m${i}`)
    }
    await hub.flush()
    while (await cb!.loadOlder()) {}
    await cb!.markRead(last.id)
    await hub.flush()
    expect(cb!.unreadCount()).toBe(0)
    // Bob restarts: first screen only.
    await b.client.close()
    const b2 = restart(hub, 'bob', bStore, time.now, opts)
    const cb2 = await b2.open('room')
    await hub.flush()
    expect(cb2.unreadCount()).toBe(0)
    // Carol, clock 4 hours slow, writes offline, comes online later.
    const c = device(hub, 'carol', { now: () => time.now() - 4 * HOUR, advance: () => {} }, opts)
    c.offline()
    const cc = await c.client.open('room')
    const late = await cc.send('late and early-stamped')
    c.online()
    await hub.flush()
    expect(cb2.unreadIds()).toEqual([late.id])
    expect(ca!.unreadIds()).toEqual([late.id])
    await everything(cb2)
    expect(cb2.messages().map((m) => m.id)).toContain(late.id)
    expect(ca!.status(last.id)).toBe('delivered') // carol has not read it
    await Promise.all([a.client.close(), b2.close(), c.client.close()])
  })

  it('pin while delete with the message in a period the pinner has not loaded after a restart', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const opts = { periodMs: HOUR, firstScreen: 2 }
    const bStore = memoryStorage()
    const a = device(hub, 'alice', time, opts)
    const b = device(hub, 'bob', time, { ...opts, storage: bStore })
    const [ca, cb] = await Promise.all([a, b].map((d) => d.client.open('room')))
    const m = await ca!.send({ text: SECRET })
    await hub.flush()
    a.offline()
    b.offline()
    await cb!.pin(m.id)
    await ca!.edit(m.id, { text: `${SECRET} v2` })
    await ca!.delete(m.id)
    for (let i = 0; i < 5; i++) {
      time.advance(HOUR)
      await ca!.send(`filler ${i}`)
    }
    // Bob restarts offline, then both come back.
    await b.client.close()
    const b2 = restart(hub, 'bob', bStore, time.now, opts)
    const cb2 = await b2.open('room')
    a.online()
    await hub.flush()
    await hub.flush()
    expect(cb2.pins()).toEqual([])
    expect(ca!.pins()).toEqual([])
    expect(cb2.unreadIds()).not.toContain(m.id)
    for (const c of [ca!, cb2]) expect(await exported(c)).not.toContain('zebra')
    await everything(cb2)
    expect(cb2.messages()[0]!.deleted).toBe(true)
    expect(await exported(cb2)).not.toContain('zebra')
    // A new device joining sees no pin and no text.
    const d = device(hub, 'dan', time, opts)
    const cd = await d.client.open('room')
    await hub.flush()
    expect(cd.pins()).toEqual([])
    expect(await exported(cd)).not.toContain('zebra')
    await Promise.all([a.client.close(), b2.close(), d.client.close()])
  })

  it('a throwing error listener and subscriber, with receipts pending at close()', async () => {
    const hub = loopbackHub()
    const time = manualTime()
    const a = device(hub, 'alice', time)
    const b = device(hub, 'bob', time, { receiptDelay: 60_000 })
    a.client.on('error', () => {
      throw new Error('error listener throws too')
    })
    b.client.on('error', () => {
      throw new Error('error listener throws too')
    })
    const [ca, cb] = await Promise.all([a, b].map((d) => d.client.open('room')))
    for (const c of [ca!, cb!])
      c.subscribe(() => {
        throw new Error('boom')
      })
    const m = await ca!.send('x')
    await b.client.whenSynced()
    await cb!.markRead(m.id)
    await expect(b.client.close()).resolves.toBeUndefined()
    await a.client.whenSynced()
    expect(ca!.status(m.id)).toBe('read')
    await expect(a.client.close()).resolves.toBeUndefined()
  })

  it('exports agree across devices after duplicated, reordered delivery and two conversations', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const a = device(hub, 'alice', time, { periodMs: HOUR })
    const b = device(hub, 'bob', time, { periodMs: HOUR })
    const convs = ['p', 'q']
    const ca = await Promise.all(convs.map((id) => a.client.open(id)))
    const cb = await Promise.all(convs.map((id) => b.client.open(id)))
    for (let i = 0; i < 12; i++) {
      const [x, y] = i % 2 ? ca : cb
      const m = await x!.send(`${i}`, { priority: i % 3 ? 'low' : 'urgent' })
      await y!.send(`${i}y`)
      if (i % 4 === 0) await x!.edit(m.id, `${i} edited`)
      if (i % 5 === 0) await x!.delete(m.id)
      time.advance(HOUR / 3)
      while (hub.queue.length > 3) {
        hub.duplicate(hub.queue.length - 1)
        hub.deliver(hub.queue.length - 1)
        hub.deliver(0)
      }
    }
    await hub.flush()
    for (let k = 0; k < 2; k++) {
      expect(await everything(ca[k]!)).toEqual(await everything(cb[k]!))
      expect(ca[k]!.unreadCount()).toBe(
        cb[k]!.messages().filter((m) => m.author === 'bob' && !m.deleted).length,
      )
      expect(ca[k]!.messages().map((m) => m.status)).toEqual(cb[k]!.messages().map((m) => m.status))
    }
    await Promise.all([a.client.close(), b.client.close()])
  })
})
