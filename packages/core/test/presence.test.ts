import { describe, expect, it } from 'vitest'
import { virtualTimers } from '../../../test/support/virtual-timers.js'
import {
  createClient,
  encodeAwareness,
  isTidingsError,
  loopbackHub,
  memoryStorage,
  type PresencePeer,
  TYPING_MS,
} from '../src/index.js'

const setup = async () => {
  const hub = loopbackHub()
  const time = virtualTimers()
  const links: Record<string, ReturnType<typeof hub.transport>> = {}
  const client = (user: string) => {
    links[user] = hub.transport()
    return createClient({ user, storage: memoryStorage(), transport: links[user], timers: time.timers })
  }
  const alice = client('alice')
  const bob = client('bob')
  const [a, b] = await Promise.all([alice.open('room'), bob.open('room')])
  await hub.flush()
  return { hub, time, links, alice, bob, a, b }
}

const who = (peers: readonly PresencePeer[]) =>
  peers.map((p) => `${p.user}${p.self ? '*' : ''}${p.typing ? '+' : ''}`)

describe('presence over the loopback hub', () => {
  it('lists every online device, self included, sorted, the same array until it changes', async () => {
    const { hub, alice, bob, a, b } = await setup()
    expect(who(a.presence())).toEqual(['alice*', 'bob'])
    expect(who(b.presence())).toEqual(['alice', 'bob*'])
    expect(b.presence().find((p) => p.user === 'alice')?.device).toBe(alice.device)
    expect(a.presence()).toBe(a.presence())
    const before = a.presence()
    let calls = 0
    a.subscribe(() => calls++)
    b.setPresence({ typing: true, cursor: 3 })
    await hub.flush()
    expect(calls).toBeGreaterThan(0)
    expect(a.presence()).not.toBe(before)
    expect(a.presence().find((p) => p.user === 'bob')).toEqual({
      user: 'bob',
      device: bob.device,
      typing: true,
      self: false,
      state: { cursor: 3 },
    })
    expect(b.presence().find((p) => p.self)?.state).toEqual({ cursor: 3 })
    await Promise.all([alice.close(), bob.close()])
  })

  it('lets typing lapse after TYPING_MS unless set again', async () => {
    const { hub, time, alice, bob, a, b } = await setup()
    b.setPresence({ typing: true })
    await hub.flush()
    time.advance(TYPING_MS - 1000)
    b.setPresence({ typing: true })
    time.advance(TYPING_MS - 1000)
    await hub.flush()
    expect(who(a.presence())).toEqual(['alice*', 'bob+'])
    time.advance(1000)
    await hub.flush()
    expect(who(a.presence())).toEqual(['alice*', 'bob'])
    expect(who(b.presence())).toEqual(['alice', 'bob*'])
    await Promise.all([alice.close(), bob.close()])
  })

  it('keeps only self while offline, publishes again on reconnect, and renews before the 30 s timeout', async () => {
    const { hub, time, links, alice, bob, a, b } = await setup()
    b.setPresence({ mood: 'busy' })
    await hub.flush()
    links.alice!.disconnect()
    await hub.flush()
    expect(who(a.presence())).toEqual(['alice*'])
    expect(who(b.presence())).toEqual(['bob*'])
    links.alice!.connect({ user: 'alice', device: alice.device! })
    await hub.flush()
    expect(who(a.presence())).toEqual(['alice*', 'bob'])
    expect(a.presence()[1]!.state).toEqual({ mood: 'busy' })
    expect(who(b.presence())).toEqual(['alice', 'bob*'])
    // Renewed every 15 s: still there long after y-protocols' 30 s.
    for (let i = 0; i < 6; i++) {
      time.advance(10_000)
      await hub.flush()
    }
    expect(who(a.presence())).toEqual(['alice*', 'bob'])
    await bob.close()
    await hub.flush()
    expect(who(a.presence())).toEqual(['alice*'])
    await alice.close()
  })

  it('stamps the link user and device over forged ones, and drops a state not renewed for 30 s', async () => {
    const { hub, time, a, alice, bob } = await setup()
    const mallory = hub.transport()
    mallory.connect({ user: 'mallory', device: 'mallory01' as never })
    mallory.subscribe(a.id, async () => [])
    await hub.flush()
    const forged = { user: 'alice', device: alice.device, typing: true }
    mallory.sendAwareness(a.id, encodeAwareness([{ client: 77, clock: 1, state: forged }]))
    await hub.flush()
    expect(a.presence().map((p) => [p.user, p.device, p.typing])).toEqual([
      ['alice', alice.device, false],
      ['bob', bob.device, false],
      ['mallory', 'mallory01', true],
    ])
    // Bob renews (delivered between the steps); mallory's link never does.
    for (const step of [15_000, 15_000]) {
      time.advance(step)
      await hub.flush()
    }
    expect(who(a.presence())).toEqual(['alice*', 'bob'])
    await Promise.all([alice.close(), bob.close(), mallory.close()])
  })

  it('refuses stamped fields and values that are not JSON', async () => {
    const { a, alice, bob } = await setup()
    const refused = (state: object) => {
      try {
        a.setPresence(state as never)
      } catch (error) {
        return isTidingsError(error, 'input/invalid')
      }
      return false
    }
    expect(refused({ user: 'mallory' })).toBe(true)
    expect(refused({ device: 'x' })).toBe(true)
    expect(refused({ typing: 'yes' })).toBe(true)
    expect(refused({ when: new Date() })).toBe(true)
    a.setPresence({ a: 1, b: 2 })
    a.setPresence({ a: undefined })
    expect(a.presence()[0]!.state).toEqual({ b: 2 })
    await Promise.all([alice.close(), bob.close()])
    expect(() => a.setPresence({ typing: true })).toThrow(/closed/)
  })
})
