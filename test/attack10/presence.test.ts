import type { Conversation } from '@tidings/core'
import { isTidingsError } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../e2e/helpers.js'
import { until } from './raw.js'
import { device, raw, startServer, who } from './world.js'

/** Alice on the real client in `room`, and the server. */
const aliceIn = async (room = 'room') => {
  const server = await startServer()
  const alice = device(server.url, 'alice')
  const a = await alice.client.open(room)
  await waitFor(() => who(a).length === 1, 'alice lists herself', { watch: [a] })
  return { server, alice, a, A: `alice:${alice.client.device}` }
}

const lists = (c: Conversation, entry: string) => who(c).some((w) => w.replace(/[+*]/g, '') === entry)

describe('presence attacks through raw sockets', () => {
  it("a state claiming alice's user and device is listed under the sender's own user and device", async () => {
    const { server, alice, a, A } = await aliceIn()
    const eve = await raw(server.url, 'eve')
    await eve.subscribe('room')
    const forged = { user: 'alice', device: alice.client.device, typing: true, name: 'Alice' }
    eve.awareness('room', [{ client: 4242, clock: 1, state: forged }])
    await waitFor(() => lists(a, 'eve:evedev0'), 'eve listed', { watch: [a] })
    expect(who(a)).toEqual([`${A}*`, 'eve:evedev0+'])
    expect(a.presence()[1]!.state).toEqual({ name: 'Alice' })
  })

  it("nobody else may clear or overwrite alice's awareness id", async () => {
    const { server, a, A } = await aliceIn()
    const eve = await raw(server.url, 'eve')
    await eve.subscribe('room')
    await until(() => eve.seen('room').some((e) => e.state !== null), "alice's state reaching eve")
    const aliceId = eve.seen('room').find((e) => e.state !== null)!.client
    eve.awareness('room', [{ client: aliceId, clock: 1_000_000, state: null }])
    eve.awareness('room', [{ client: aliceId, clock: 1_000_001, state: { typing: true } }])
    await until(() => eve.errors().length >= 2, 'two refusals')
    expect(eve.errors().map((e) => e.code)).toEqual(['permission/denied', 'permission/denied'])
    expect(who(a)).toEqual([`${A}*`])
    // Bob, joining after the attempt, still sees alice (and not typing).
    const bob = device(server.url, 'bob')
    const b = await bob.client.open('room')
    await waitFor(() => who(b).length === 2, 'bob sees alice', { watch: [b] })
    expect(who(b)[0]).toBe(A)
  })

  it('a conversation eve may not open gets none of her presence and shows her none', async () => {
    const { server, a, A } = await aliceIn('secret')
    const eve = await raw(server.url, 'eve')
    const answer = await eve.subscribe('secret')
    expect(answer.type === 'error' && answer.code).toBe('auth/denied')
    eve.awareness('secret', [{ client: 777, clock: 1, state: { typing: true } }])
    await until(() => eve.errors().length >= 2, 'the awareness refusal')
    expect(eve.errors()[1]!.code).toBe('permission/denied')
    // A frame after the refusal, to know the server handled everything before it.
    const bob = device(server.url, 'bob')
    const b = await bob.client.open('secret')
    await waitFor(() => who(a).length === 2 && who(b).length === 2, 'alice and bob', { watch: [a, b] })
    expect(who(a)).toEqual([`${A}*`, `bob:${bob.client.device}`])
    expect(eve.seen('secret')).toEqual([])
  })

  it('unsubscribing clears her presence, and states sent afterwards are refused', async () => {
    const { server, a, A } = await aliceIn()
    const eve = await raw(server.url, 'eve')
    await eve.subscribe('room')
    eve.awareness('room', [{ client: 99, clock: 1, state: { typing: true } }])
    await waitFor(() => lists(a, 'eve:evedev0'), 'eve listed', { watch: [a] })
    eve.unsubscribe('room')
    await waitFor(() => who(a).length === 1, 'eve gone after unsubscribe', { watch: [a] })
    eve.awareness('room', [{ client: 99, clock: 2, state: { typing: true } }])
    await until(() => eve.errors().length >= 1, 'a refusal after unsubscribe')
    expect(eve.errors()[0]!.code).toBe('permission/denied')
    expect(who(a)).toEqual([`${A}*`])
  })

  it('one connection flooding awareness ids is capped, and her device is listed once', async () => {
    const { server, a } = await aliceIn()
    const eve = await raw(server.url, 'eve')
    await eve.subscribe('room')
    const entries = Array.from({ length: 70 }, (_, i) => ({ client: 1000 + i, clock: 1, state: { n: i } }))
    for (const entry of entries) eve.awareness('room', [entry])
    await until(() => eve.errors().some((e) => e.code === 'quota/exceeded'), 'quota/exceeded')
    await waitFor(() => lists(a, 'eve:evedev0'), 'eve listed', { watch: [a] })
    // "one entry per online device": 64 awareness ids of one device are still one device.
    expect(a.presence().filter((p) => p.device === 'evedev0')).toHaveLength(1)
  })

  it('a state over 16 KiB is refused and never listed; so is one nested deeper than 64', async () => {
    const { server, a, A } = await aliceIn()
    const eve = await raw(server.url, 'eve')
    await eve.subscribe('room')
    eve.awareness('room', [{ client: 5, clock: 1, state: { blob: 'x'.repeat(17 * 1024) } }])
    let deep: Record<string, unknown> = {}
    for (let i = 0; i < 80; i++) deep = { d: deep }
    eve.awareness('room', [{ client: 6, clock: 1, state: deep }])
    eve.awareness('room', [{ client: 7, clock: 1, state: 42 as unknown as Record<string, unknown> }])
    await until(() => eve.errors().length >= 3, 'three refusals')
    expect(eve.errors().map((e) => e.code)).toEqual([
      'quota/exceeded',
      'protocol/malformed',
      'protocol/malformed',
    ])
    expect(who(a)).toEqual([`${A}*`])
  })

  it('a reconnect that overtakes the old link lists the device once, and the old close clears nothing', async () => {
    const { server, a } = await aliceIn()
    const first = await raw(server.url, 'eve')
    await first.subscribe('room')
    first.awareness('room', [{ client: 31, clock: 1, state: { v: 1 } }])
    await waitFor(() => lists(a, 'eve:evedev0'), 'eve listed', { watch: [a] })
    const second = await raw(server.url, 'eve')
    await second.subscribe('room')
    second.awareness('room', [{ client: 31, clock: 2, state: { v: 2 } }])
    await waitFor(() => a.presence().some((p) => p.state.v === 2), 'the new state', { watch: [a] })
    first.close()
    await until(() => first.closed.code !== undefined, 'the old link closed')
    // A later frame from the new link proves the server handled the old one's close first.
    second.awareness('room', [{ client: 31, clock: 3, state: { v: 3 } }])
    await waitFor(() => a.presence().some((p) => p.state.v === 3), 'the newest state', { watch: [a] })
    expect(a.presence().filter((p) => p.user === 'eve')).toHaveLength(1)
  })
})

describe('setPresence input', () => {
  it('refuses user, device, a non-boolean typing, non-JSON and more than 8 KiB, changing nothing', async () => {
    const { a } = await aliceIn()
    const before = a.presence()
    const bad: Record<string, unknown>[] = [
      { user: 'bob' },
      { device: 'x' },
      { typing: 'yes' },
      { f: () => 1 },
      { n: Number.NaN },
      { big: 'x'.repeat(9 * 1024) },
    ]
    for (const state of bad) {
      let error: unknown
      try {
        a.setPresence(state as never)
      } catch (e) {
        error = e
      }
      expect(isTidingsError(error), JSON.stringify(Object.keys(state))).toBe(true)
    }
    expect(a.presence()).toBe(before)
  })
})
