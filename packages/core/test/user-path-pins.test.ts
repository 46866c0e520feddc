import { describe, expect, it } from 'vitest'
import { loopbackHub, memoryStorage } from '../src/index.js'
import { device, manualTime } from './helpers.js'
import { DAY, everything, exported, HOUR, restart } from './user-path-helpers.js'

const SECRET = 'launch code 7781-secret'

describe('user path: pins', () => {
  it('pin while delete: no pin listed and no copy of the text in any export, any delivery order', async () => {
    for (const order of ['forward', 'reverse', 'twice'] as const) {
      const hub = loopbackHub({ manual: true })
      const time = manualTime()
      const a = device(hub, 'alice', time)
      const a2 = device(hub, 'alice', time)
      const b = device(hub, 'bob', time)
      const [ca, ca2, cb] = await Promise.all([a, a2, b].map((d) => d.client.open(`room-${order}`)))
      const m = await ca!.send({ text: SECRET })
      await hub.flush()
      // Alice's other device edits, Bob pins, Alice deletes: all concurrently offline.
      a.offline()
      a2.offline()
      b.offline()
      await ca2!.edit(m.id, { text: `${SECRET} (edited)` })
      await cb!.pin(m.id)
      await ca!.delete(m.id)
      b.online()
      a2.online()
      a.online()
      if (order === 'reverse') while (hub.queue.length) hub.deliver(hub.queue.length - 1)
      if (order === 'twice')
        while (hub.queue.length) {
          hub.duplicate(0)
          hub.deliver(0)
          hub.deliver(0)
        }
      await hub.flush()
      await hub.flush()
      for (const c of [ca!, ca2!, cb!]) {
        expect(c.pins()).toEqual([])
        expect(c.messages()[0]!.deleted).toBe(true)
        expect(await exported(c)).not.toContain('7781')
      }
      await Promise.all([a, a2, b].map((d) => d.client.close()))
    }
  })

  it('pin while edit offline: pins() shows the latest edit everywhere, after retention and restart', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const opts = { periodMs: DAY }
    const bStore = memoryStorage()
    const a = device(hub, 'alice', time, opts)
    const b = device(hub, 'bob', time, { ...opts, storage: bStore })
    const [ca, cb] = await Promise.all([a, b].map((d) => d.client.open('room')))
    const m = await ca!.send('v0')
    await hub.flush()
    a.offline()
    await ca!.edit(m.id, 'v1 offline')
    await ca!.edit(m.id, 'v2 offline')
    await cb!.pin(m.id)
    await hub.flush()
    a.online()
    await hub.flush()
    for (const c of [ca!, cb!])
      expect(c.pins().map((p) => [p.id, p.body, p.pinnedBy])).toEqual([[m.id, 'v2 offline', 'bob']])
    time.advance(3 * DAY)
    await ca!.send('today')
    await hub.flush()
    await ca!.setRetainedFrom(time.now() - DAY)
    await hub.flush()
    // An edit after retention can no longer reach a dropped message; pins keep the latest.
    for (const c of [ca!, cb!]) expect(c.pins().map((p) => p.body)).toEqual(['v2 offline'])
    await b.client.close()
    const b2 = restart(hub, 'bob', bStore, time.now, opts)
    const cb2 = await b2.open('room')
    await hub.flush()
    expect(cb2.pins().map((p) => p.body)).toEqual(['v2 offline'])
    // A brand new device of carol sees it too.
    const c = device(hub, 'carol', time, opts)
    const cc = await c.client.open('room')
    await hub.flush()
    expect(cc.pins().map((p) => p.body)).toEqual(['v2 offline'])
    await Promise.all([a.client.close(), b2.close(), c.client.close()])
  })

  it('pin a message then edit it twice from two devices of the author while pinner offline', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const a = device(hub, 'alice', time)
    const a2 = device(hub, 'alice', time, { clock: { now: () => time.now() + 30_000 } })
    const b = device(hub, 'bob', time)
    const [ca, ca2, cb] = await Promise.all([a, a2, b].map((d) => d.client.open('room')))
    const m = await ca!.send('v0')
    await hub.flush()
    await cb!.pin(m.id)
    await hub.flush()
    b.offline()
    await ca2!.edit(m.id, 'v1 fast device')
    await hub.flush()
    time.advance(1000)
    await ca!.edit(m.id, 'v2 later')
    await hub.flush()
    b.online()
    await hub.flush()
    for (const c of [ca!, ca2!, cb!]) {
      expect(c.messages()[0]!.body).toBe('v2 later')
      expect(c.pins().map((p) => p.body)).toEqual(['v2 later'])
    }
    await Promise.all([a, a2, b].map((d) => d.client.close()))
  })

  it('pin an edited message, then its author edits again on the same device: still pinned', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const a = device(hub, 'alice', time)
    const b = device(hub, 'bob', time)
    const [ca, cb] = await Promise.all([a, b].map((d) => d.client.open('room')))
    const m = await ca!.send('v0')
    await ca!.edit(m.id, 'v1')
    await hub.flush()
    await cb!.pin(m.id)
    await hub.flush()
    // Her edit record of v1, which Bob's snapshot matched, is replaced by v2.
    time.advance(1000)
    await ca!.edit(m.id, 'v2')
    await hub.flush()
    for (const c of [ca!, cb!])
      expect(c.pins().map((p) => [p.id, p.body, p.pinnedBy])).toEqual([[m.id, 'v2', 'bob']])
    await Promise.all([a, b].map((d) => d.client.close()))
  })

  it('two devices create a conversation offline with different periodMs: retention keeps recent messages', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const a = device(hub, 'alice', time, { periodMs: HOUR })
    const b = device(hub, 'bob', time, { periodMs: DAY })
    a.offline()
    b.offline()
    const [ca, cb] = await Promise.all([a, b].map((d) => d.client.open('mixed')))
    for (let i = 0; i < 30; i++) {
      await ca!.send(`a${i}`)
      await cb!.send(`b${i}`)
      time.advance(HOUR)
    }
    a.online()
    b.online()
    await hub.flush()
    const before = await everything(ca!)
    expect(before).toEqual(await everything(cb!))
    // Keep the last 5 hours.
    const from = time.now() - 5 * HOUR
    await cb!.setRetainedFrom(from)
    await hub.flush()
    const after = await everything(ca!)
    expect(after).toEqual(await everything(cb!))
    const mustKeep = before.filter((m) => m.stamp.wall >= from).map((m) => m.body)
    const kept = after.map((m) => m.body)
    for (const body of mustKeep) expect(kept).toContain(body)
    // The new device of carol, with yet another period, agrees.
    const c = device(hub, 'carol', time, { periodMs: 7 * DAY })
    const cc = await c.client.open('mixed')
    await hub.flush()
    expect(await everything(cc)).toEqual(after)
    // A send after retention by a device with an hourly period stays.
    const now = await ca!.send('after retention')
    await hub.flush()
    for (const cv of [ca!, cb!, cc]) expect(cv.messages().map((x) => x.id)).toContain(now.id)
    await Promise.all([a, b, c].map((d) => d.client.close()))
  })
})
