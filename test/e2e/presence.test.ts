import { type Conversation, encodeAwareness, TYPING_MS } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import { virtualTimers } from '../support/virtual-timers.js'
import { device, startServer, waitFor } from './helpers.js'

/** `user:device` of each peer, `+` when typing, `*` for self. */
const who = (c: Conversation) =>
  c.presence().map((p) => `${p.user}:${p.device}${p.typing ? '+' : ''}${p.self ? '*' : ''}`)

const online = async () => {
  const server = await startServer()
  const time = virtualTimers()
  const alice = device(server.url, 'alice')
  const bob = device(server.url, 'bob', { timers: time.timers })
  const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
  const A = `alice:${alice.client.device}`
  const B = `bob:${bob.client.device}`
  await waitFor(() => who(a).length === 2 && who(b).length === 2, 'both online', { watch: [a, b] })
  return { server, time, alice, bob, a, b, A, B }
}

describe('presence through the real server', () => {
  it('shows two clients each other online and typing, and a closed client leaves', async () => {
    const { alice, bob, a, b, A, B } = await online()
    expect(who(a)).toEqual([`${A}*`, B])
    expect(who(b)).toEqual([A, `${B}*`])
    b.setPresence({ typing: true, draft: 'Confirm' })
    await waitFor(() => who(a)[1] === `${B}+`, 'alice sees bob typing', { watch: [a] })
    expect(a.presence()[1]!.state).toEqual({ draft: 'Confirm' })
    // Offline, only self remains; back online, both publish again.
    alice.offline()
    await waitFor(() => who(a).length === 1 && who(b).length === 1, 'both alone', { watch: [a, b] })
    alice.online()
    await waitFor(() => who(a).length === 2 && who(b).length === 2, 'together again', { watch: [a, b] })
    expect(who(a)).toEqual([`${A}*`, `${B}+`])
    await bob.close()
    await waitFor(() => who(a).length === 1, 'bob gone after close', { watch: [a] })
    expect(alice.errors).toEqual([])
  })

  it('lets typing lapse by itself', async () => {
    const { time, a, b, B } = await online()
    b.setPresence({ typing: true })
    await waitFor(() => who(a)[1] === `${B}+`, 'typing', { watch: [a] })
    time.advance(TYPING_MS)
    await waitFor(() => who(a)[1] === B, 'typing over', { watch: [a] })
    expect(who(b)[1]).toBe(`${B}*`)
  })

  it('shows a client claiming another user and device as its real user and device', async () => {
    const { server, alice, a, A, B } = await online()
    const eve = device(server.url, 'eve')
    const e = await eve.client.open('room')
    const E = `eve:${eve.client.device}`
    await waitFor(() => who(a).includes(E), 'eve online', { watch: [a] })
    const forged = { user: 'mallory', device: alice.client.device, typing: true }
    eve.transport.sendAwareness(e.id, encodeAwareness([{ client: 4711, clock: 1, state: forged }]))
    await waitFor(() => who(a).includes(`${E}+`), 'the forged state, stamped', { watch: [a] })
    expect(who(a)).toEqual([`${A}*`, B, `${E}+`])
    expect(a.presence().some((p) => p.user === 'mallory')).toBe(false)
  })
})
