import { describe, expect, it } from 'vitest'
import { loopbackHub, MAX_DRIFT, memoryStorage } from '../src/index.js'
import { device, manualTime, reusable } from './helpers.js'

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR

/** A device whose physical clock runs `skew` ms off the shared manual time. */
const skewed = (time: ReturnType<typeof manualTime>, skew: number) => ({
  ...time,
  now: () => time.now() + skew,
})

describe('order and visibility under skewed clocks', () => {
  it('shows every message after a restart whose first screen is a day-fast period', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const opts = { periodMs: HOUR, firstScreen: 3 }
    const storage = memoryStorage()
    const nina = device(hub, 'nina', time, { ...opts, storage: reusable(storage) })
    const fred = device(hub, 'fred', skewed(time, DAY), opts)
    const half = device(hub, 'hana', skewed(time, 12 * HOUR), opts)
    const cara = device(hub, 'cara', time, opts)
    const [n, f, h, c] = await Promise.all([nina, fred, half, cara].map((d) => d.client.open('room')))
    const urgent = await n!.send('urgent, from nina', { priority: 'urgent' })
    const edited = await n!.send('draft')
    await n!.edit(edited.id, 'final')
    const middle = await h!.send('twelve hours fast')
    for (let i = 0; i < 3; i++) await f!.send(`a day fast ${i}`)
    await hub.flush()
    await nina.client.close()

    // Nina restarts: fred's "tomorrow" period alone would fill her first screen.
    const nina2 = device(hub, 'nina', time, { ...opts, storage: reusable(storage) })
    const n2 = await nina2.client.open('room')
    await hub.flush()
    const own = await n2.send('after the restart')
    const live = await c!.send('live, correct clock')
    await hub.flush()
    while (await n2.loadOlder()) {}
    const shown = new Map(n2.messages().map((m) => [m.id, m.body]))
    expect(shown.get(urgent.id)).toBe('urgent, from nina')
    expect(shown.get(edited.id)).toBe('final')
    expect(shown.get(middle.id)).toBe('twelve hours fast')
    expect(shown.get(own.id)).toBe('after the restart')
    expect(shown.get(live.id)).toBe('live, correct clock')
    expect(n2.messages()).toHaveLength(8)
    // Every message that is stored is shown: none is unread yet invisible.
    for (const id of n2.unreadIds()) expect(shown.has(id), `${id} is unread but not shown`).toBe(true)
    await Promise.all([nina2, fred, half, cara].map((d) => d.client.close()))
  })

  it('orders an edit after the edit it replaces, though its device runs 30 s slow', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const laptop = device(hub, 'alice', time)
    const phone = device(hub, 'alice', skewed(time, -30_000))
    const bob = device(hub, 'bob', time)
    const [l, p, b] = await Promise.all([laptop, phone, bob].map((d) => d.client.open('room')))
    const m = await l!.send('original')
    await hub.flush()
    time.advance(5_000)
    await l!.edit(m.id, 'edit 1')
    await hub.flush()
    expect(p!.messages()[0]?.body).toBe('edit 1')
    time.advance(5_000)
    await p!.edit(m.id, 'edit 2')
    // The phone sees its own edit win at once, and so does everyone once it arrives.
    expect(p!.messages()[0]?.body).toBe('edit 2')
    await hub.flush()
    for (const c of [l!, p!, b!]) expect(c.messages()[0]?.body).toBe('edit 2')
    await Promise.all([laptop, phone, bob].map((d) => d.client.close()))
  })

  it('a reply to a day-fast message sorts after it without dragging the replier a day ahead', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const alice = device(hub, 'alice', time)
    const bob = device(hub, 'bob', skewed(time, DAY))
    const [a, b] = await Promise.all([alice, bob].map((d) => d.client.open('room')))
    const parent = await b!.send('from tomorrow')
    await hub.flush()
    const reply = await a!.send('answer', { replyTo: parent.id })
    const next = await a!.send('an ordinary message')
    await hub.flush()
    for (const c of [a!, b!]) {
      const ids = c.messages().map((m) => m.id)
      expect(ids.indexOf(reply.id)).toBeGreaterThan(ids.indexOf(parent.id))
    }
    expect(next.sentAt).toBeLessThanOrEqual(time.now() + MAX_DRIFT)
    await Promise.all([alice, bob].map((d) => d.client.close()))
  })

  it('a message a slow clock stamps before retainedFrom goes on the sender as everywhere: expired', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const opts = { periodMs: 60_000 }
    const slow = device(hub, 'alice', skewed(time, -30 * 60_000), opts)
    const bob = device(hub, 'bob', time, opts)
    const [a, b] = await Promise.all([slow, bob].map((d) => d.client.open('room')))
    await b!.setRetainedFrom(time.now() - 60_000)
    await hub.flush()
    const m = await a!.send('stamped half an hour ago')
    expect(m.status).toBe('expired')
    await hub.flush()
    for (const c of [a!, b!]) expect(c.messages()).toEqual([])
    expect(a!.status(m.id)).toBe('expired')
    await Promise.all([slow, bob].map((d) => d.client.close()))
  })
})
