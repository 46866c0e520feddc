import { describe, expect, it } from 'vitest'
import { loopbackHub, memoryStorage } from '../src/index.js'
import { device, manualTime } from './helpers.js'
import { DAY, everything, HOUR, restart } from './user-path-helpers.js'

describe('user path: periods and clocks', () => {
  it('writes into periods not loaded, a day-fast device, a restart: every replica ends equal', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const opts = { periodMs: HOUR, firstScreen: 3 }
    const aStore = memoryStorage()
    const a = device(hub, 'alice', time, { ...opts, storage: aStore })
    const fast = () => time.now() + DAY
    const b = device(hub, 'bob', time, { ...opts, clock: { now: fast } })
    const ca = await a.client.open('room')
    const cb = await b.client.open('room')
    const early = []
    for (let i = 0; i < 8; i++) {
      early.push(await ca.send(`a${i}`))
      time.advance(HOUR)
    }
    await hub.flush()
    // Bob, a day fast, writes twice and replies to an old message.
    await cb.send('b-fast-1')
    await cb.send('b-reply', { replyTo: early[1]!.id })
    await hub.flush()
    // Alice goes offline, restarts with a clock that is behind: writes into a period she has not loaded.
    a.offline()
    await a.client.close()
    time.advance(HOUR)
    const slow = () => time.now() - 5 * HOUR
    const a2 = restart(hub, 'alice', aStore, slow, opts)
    const ca2 = await a2.open('room')
    await ca2.send('a-late')
    await hub.flush()
    await cb.send('b-fast-2')
    await hub.flush()
    // Deliveries twice: harmless.
    await hub.flush()
    const fa = await everything(ca2)
    const fb = await everything(cb)
    expect(fa.map((m) => m.body)).toEqual(fb.map((m) => m.body))
    expect(fa).toEqual(fb)
    expect(fa).toHaveLength(12)
    // A restart of Bob loads the same.
    await b.client.close()
    await a2.close()
  })

  it('edits under 30 s clock skew: the later edit wins on every device', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const a1 = device(hub, 'alice', time, { clock: { now: () => time.now() + 30_000 } })
    const a2 = device(hub, 'alice', time)
    const b = device(hub, 'bob', time, { clock: { now: () => time.now() - 30_000 } })
    const [c1, c2, cb] = await Promise.all(
      ['room', 'room', 'room'].map((r, i) => [a1, a2, b][i]!.client.open(r)),
    )
    const m = await c1!.send('v0')
    await hub.flush()
    await c1!.edit(m.id, 'v1 (fast device)')
    await hub.flush()
    time.advance(1000)
    await c2!.edit(m.id, 'v2 (slow device, later)')
    await hub.flush()
    for (const c of [c1!, c2!, cb!]) expect(c.messages()[0]!.body).toBe('v2 (slow device, later)')
    // Online, alternating again, a few times quickly.
    for (let i = 3; i < 7; i++) {
      const c = i % 2 ? c1! : c2!
      await c.edit(m.id, `v${i}`)
      await hub.flush()
      time.advance(10)
    }
    for (const c of [c1!, c2!, cb!]) expect(c.messages()[0]!.body).toBe('v6')
    // Concurrent offline edits: whatever wins, it wins everywhere, also after a restart-free resync.
    a1.offline()
    a2.offline()
    await c1!.edit(m.id, 'offline fast')
    time.advance(5000)
    await c2!.edit(m.id, 'offline slow, 5 s later')
    a1.online()
    a2.online()
    await hub.flush()
    const seen = [c1!, c2!, cb!].map((c) => c.messages()[0]!.body)
    expect(new Set(seen).size).toBe(1)
    await Promise.all([a1, a2, b].map((d) => d.client.close()))
  })

  it('a reply to a day-fast message sorts after it but does not drag the clocks', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const fast = device(hub, 'fast', time, { clock: { now: () => time.now() + DAY } })
    const ann = device(hub, 'ann', time)
    const cat = device(hub, 'cat', time)
    const [cf, ca, cc] = await Promise.all([fast, ann, cat].map((d) => d.client.open('room')))
    const m = await cf!.send('from the future')
    await hub.flush()
    const r = await ca!.send('reply', { replyTo: m.id })
    await hub.flush()
    time.advance(1000)
    const next = await ca!.send('ann next')
    const cNext = await cc!.send('cat next')
    const r2 = await cc!.send('reply to reply', { replyTo: r.id })
    await hub.flush()
    expect(next.stamp.wall).toBeLessThanOrEqual(time.now() + 60_000)
    expect(cNext.stamp.wall).toBeLessThanOrEqual(time.now() + 60_000)
    for (const c of [cf!, ca!, cc!]) {
      const order = c.messages().map((x) => x.body)
      expect(order.indexOf('reply')).toBeGreaterThan(order.indexOf('from the future'))
      expect(order.indexOf('reply to reply')).toBeGreaterThan(order.indexOf('reply'))
      expect(order.indexOf('ann next')).toBeLessThan(order.indexOf('from the future'))
    }
    expect(r2.stamp.wall).toBeGreaterThan(time.now() + 60_000)
    // Restart ann: her clock still is not dragged.
    const ids = [cf!, ca!, cc!].map((c) =>
      c
        .messages()
        .map((x) => x.id)
        .join(),
    )
    expect(new Set(ids).size).toBe(1)
    await Promise.all([fast, ann, cat].map((d) => d.client.close()))
  })
})
