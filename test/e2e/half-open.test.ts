import type { FaultyProxy } from '@tidings/testing'
import { describe, expect, it } from 'vitest'
import { body, converged, type Device, device, proxyTo, startServer, statuses, waitFor } from './helpers.js'

const PING_INTERVAL = 200
const PING_TIMEOUT = 600
/** Timer lateness on a loaded machine, and the socket teardown. */
const MARGIN = 400

/** Alice behind the proxy with a fast heartbeat, bob straight on the server; both synced, one message each. */
const setup = async () => {
  const server = await startServer()
  const proxy = await proxyTo(server)
  const alice = device(proxy.url, 'alice', { pingInterval: PING_INTERVAL, pingTimeout: PING_TIMEOUT })
  const bob = device(server.url, 'bob')
  const a = await alice.client.open('room')
  const b = await bob.client.open('room')
  await Promise.all([alice.client.whenSynced(), bob.client.whenSynced()])
  const hello = [await a.send(body('hello from alice')), await b.send(body('hello from bob'))]
  await converged([a, b], 2)
  await waitFor(() => hello.every((m) => a.status(m.id) === 'delivered'), 'both hellos delivered', {
    watch: [a],
  })
  return { server, proxy, alice, bob, a, b }
}

/** A quiet but healthy link stays online: four pongs means three ping intervals (≥ the timeout) passed. */
const staysOnlineWhileQuiet = async (alice: Device, proxy: FaultyProxy) => {
  const states = alice.states.length
  const reads = proxy.reads.down
  await waitFor(() => proxy.reads.down >= reads + 4, 'four pongs', { timeout: 5000 })
  expect(alice.states.slice(states)).toEqual([])
  expect(alice.client.connection).toBe('online')
}

/** Stops the link with `cut` and returns how long alice took to leave 'online'. */
const detect = async (alice: Device, cut: () => void): Promise<number> => {
  const from = alice.states.length
  const cutAt = performance.now()
  cut()
  await waitFor(() => alice.client.connection !== 'online', 'alice leaving online', {
    watch: [alice.client],
    timeout: PING_TIMEOUT + 5000,
  })
  return alice.states.slice(from).find((s) => s.state !== 'online')!.at - cutAt
}

describe('half-open links', () => {
  it('a link that stops forwarding is declared dead within the heartbeat timeout; restore reconnects', async () => {
    const { server, proxy, alice, a, b } = await setup()
    await staysOnlineWhileQuiet(alice, proxy)

    const from = alice.states.length
    const sentIntoTheVoid = a.send(body('written as the link died'), { priority: 'urgent' })
    const detectionMs = await detect(alice, () => proxy.stall())
    const outage = [
      await sentIntoTheVoid,
      await a.send(body('alice, offline'), { priority: 'low' }),
      await b.send(body('bob during the outage')),
      await b.send(body('bob, urgent'), { priority: 'urgent' }),
    ]
    expect(detectionMs).toBeLessThan(PING_TIMEOUT + MARGIN)
    expect(outage.filter((m) => m.author === 'alice').map((m) => a.status(m.id))).toEqual([
      'pending',
      'pending',
    ])

    // While nothing gets through, attempts open TCP connections that never see a welcome; each is
    // given up after the timeout, and none reaches 'syncing'.
    const accepted = proxy.accepted
    await waitFor(() => proxy.accepted >= accepted + 2, 'two more attempts', { timeout: 10_000 })
    expect(alice.states.slice(from).map((s) => s.state)).not.toContain('syncing')

    const restoredAt = performance.now()
    proxy.restore()
    await alice.client.whenSynced()
    const reconnectMs = performance.now() - restoredAt
    await converged([a, b], 2 + outage.length)
    await waitFor(
      () => statuses(a).every((s) => s === 'delivered') && statuses(b).join() === statuses(a).join(),
      'everything delivered, the same statuses on both sides',
      { watch: [a, b] },
    )
    console.log(
      `half-open (stall/restore): detected in ${Math.round(detectionMs)} ms ` +
        `(pingInterval ${PING_INTERVAL}, pingTimeout ${PING_TIMEOUT}); ` +
        `online and synced ${Math.round(reconnectMs)} ms after restore; ${proxy.accepted} connections in all`,
    )
    expect(server.errors).toEqual([])
  })

  it('after a handover (old path silent, new connections fine) the client reconnects on its own', async () => {
    const { server, proxy, alice, a, b } = await setup()
    const sentIntoTheVoid = a.send(body('written as the old path died'))
    const detectionMs = await detect(alice, () => proxy.handover())
    expect(detectionMs).toBeLessThan(PING_TIMEOUT + MARGIN)
    const fromBob = await b.send(body('bob during the handover'), { priority: 'high' })

    // No restore: the next attempt opens a new connection, which gets through.
    const detectedAt = performance.now()
    await alice.client.whenSynced()
    const reconnectMs = performance.now() - detectedAt
    await converged([a, b], 4)
    const mine = await sentIntoTheVoid
    await waitFor(
      () => a.status(mine.id) === 'delivered' && a.status(fromBob.id) === 'delivered',
      'both messages delivered',
      { watch: [a] },
    )
    expect(proxy.accepted).toBeGreaterThanOrEqual(2)
    console.log(
      `half-open (handover): detected in ${Math.round(detectionMs)} ms; ` +
        `synced on a new connection ${Math.round(reconnectMs)} ms later`,
    )
    expect(server.errors).toEqual([])
  })
})
