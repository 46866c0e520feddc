import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Conversation, type PresencePeer, TYPING_MS } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import { proxyTo, waitFor } from '../e2e/helpers.js'
import { virtualTimers } from '../support/virtual-timers.js'
import { until } from './raw.js'
import { device, raw, startServer, who } from './world.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')

/** Every snapshot `c.presence()` gave to a listener, from now on. */
const record = (c: Conversation) => {
  const seen: (readonly PresencePeer[])[] = [c.presence()]
  const stop = c.subscribe(() => {
    const next = c.presence()
    if (next !== seen.at(-1)) seen.push(next)
  })
  return { seen, stop }
}

describe('presence over time', () => {
  it('presence() keeps its reference while nothing changed, renewals of the same state included', async () => {
    const server = await startServer()
    const alice = device(server.url, 'alice')
    const a = await alice.client.open('room')
    const eve = await raw(server.url, 'eve')
    await eve.subscribe('room')
    eve.awareness('room', [{ client: 8, clock: 1, state: { mood: 'calm' } }])
    await waitFor(() => who(a).length === 2, 'eve listed', { watch: [a] })
    expect(a.presence()).toBe(a.presence())
    const { seen, stop } = record(a)
    // Renewals: the same state, a higher clock. Then one real change, to know they all arrived.
    for (let clock = 2; clock < 6; clock++)
      eve.awareness('room', [{ client: 8, clock, state: { mood: 'calm' } }])
    eve.awareness('room', [{ client: 8, clock: 6, state: { mood: 'busy' } }])
    await waitFor(() => a.presence()[1]?.state.mood === 'busy', 'the change', { watch: [a] })
    stop()
    expect(seen.map((s) => s.map((p) => p.state.mood))).toEqual([
      [undefined, 'calm'],
      [undefined, 'busy'],
    ])
    expect(Object.isFrozen(a.presence())).toBe(true)
  })

  it('a reconnecting device is listed once at every moment, and is back afterwards', async () => {
    const server = await startServer()
    const alice = device(server.url, 'alice')
    const bob = device(server.url, 'bob')
    const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    b.setPresence({ status: 'here' })
    await waitFor(() => a.presence()[1]?.state.status === 'here', 'bob listed', { watch: [a] })
    const { seen, stop } = record(a)
    for (let i = 0; i < 3; i++) {
      bob.offline()
      await waitFor(() => who(a).length === 1, 'bob gone', { watch: [a] })
      bob.online()
      await waitFor(() => who(a).length === 2, 'bob back', { watch: [a] })
    }
    stop()
    for (const snapshot of seen)
      expect(snapshot.filter((p) => p.user === 'bob').length).toBeLessThanOrEqual(1)
    expect(a.presence()[1]).toMatchObject({
      user: 'bob',
      device: bob.client.device,
      state: { status: 'here' },
    })
  })

  it('a device whose old link hangs half-open and that reconnects is listed once, with its state', async () => {
    const server = await startServer()
    const proxy = await proxyTo(server)
    const alice = device(server.url, 'alice')
    const bob = device(proxy.url, 'bob', { pingInterval: 100, pingTimeout: 400 })
    const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    b.setPresence({ status: 'here' })
    await waitFor(() => a.presence()[1]?.state.status === 'here', 'bob listed', { watch: [a] })
    const { seen, stop } = record(a)
    const reconnects = bob.states.filter((s) => s.state === 'online').length
    proxy.handover()
    await waitFor(
      () => bob.states.filter((s) => s.state === 'online').length > reconnects,
      'bob online again',
      {
        watch: [bob.client],
      },
    )
    b.setPresence({ status: 'back' })
    await waitFor(() => a.presence()[1]?.state.status === 'back', 'the new link publishing', { watch: [a] })
    stop()
    for (const snapshot of seen)
      expect(snapshot.filter((p) => p.user === 'bob').length).toBeLessThanOrEqual(1)
    expect(who(a)).toEqual([`alice:${alice.client.device}*`, `bob:${bob.client.device}`])
    // The stalled old link would hold server.close() for ws's 30 s close timeout (server-close.test.ts).
    await proxy.close()
  })

  it('typing lapses TYPING_MS after the last setPresence({ typing: true }), for others too', async () => {
    const server = await startServer()
    const time = virtualTimers()
    const alice = device(server.url, 'alice')
    const bob = device(server.url, 'bob', { timers: time.timers })
    const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    b.setPresence({ typing: true })
    await waitFor(() => a.presence()[1]?.typing === true, 'bob typing', { watch: [a] })
    time.advance(TYPING_MS - 1000)
    b.setPresence({ typing: true }) // a keystroke restarts the wait
    time.advance(TYPING_MS - 1000)
    expect(b.presence().find((p) => p.self)?.typing).toBe(true)
    time.advance(1000)
    expect(b.presence().find((p) => p.self)?.typing).toBe(false)
    await waitFor(() => a.presence()[1]?.typing === false, 'bob no longer typing', { watch: [a] })
  })

  it('a client process killed with SIGKILL leaves the presence of the others', async () => {
    const server = await startServer()
    const alice = device(server.url, 'alice')
    const a = await alice.client.open('room')
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(here, 'presence-child.ts'), server.url, 'carl'],
      {
        cwd: root,
        env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
      },
    )
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    try {
      await until(() => out.includes('ready') || child.exitCode !== null, 'the child to be online', 8000)
      expect(err).toBe('')
      const carl = out.trim().split(' ')[1]
      await waitFor(() => who(a).includes(`carl:${carl}+`), 'carl typing', { watch: [a] })
      child.kill('SIGKILL')
      await waitFor(() => who(a).length === 1, 'carl gone after kill -9', { watch: [a], timeout: 5000 })
    } finally {
      child.kill('SIGKILL')
    }
  })
})
