// faultyProxy between real clients and a real @tidings/server, set up from the READMEs alone.
import { type Client, createClient, memoryStorage } from '@tidings/core'
import { createServer } from '@tidings/server'
import { assertConverged, faultyProxy } from '@tidings/testing'
import { websocketTransport } from '@tidings/transport-websocket'
import { expect, test } from 'vitest'
import { WebSocket } from 'ws'
import { within } from './user-helpers.js'

/** Polls `ready` every few ms until it holds, or fails after `ms` of real time. */
const until = async (ready: () => boolean | Promise<boolean>, ms: number, what: string) => {
  const deadline = Date.now() + ms
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * A server, a throttled proxy, alice and bob; alice posts a backlog through a cut, a stall and a
 * handover, then both await whenSynced() as docs/testing.md says. Returns the clients to compare.
 */
const afternoon = async (check: (alice: Client, bob: Client) => Promise<void>) => {
  const server = await createServer({
    port: 0,
    storage: memoryStorage(),
    authenticate: (token) => ({ userId: token, canWrite: true }),
    onError: () => {},
  })
  const proxy = await faultyProxy({ target: server, bytesPerSecond: 32_000, latencyMs: [5, 50] })
  const connect = (user: string) =>
    createClient({
      user,
      storage: memoryStorage(),
      // A short heartbeat so a stalled link is noticed within the test's time.
      transport: websocketTransport({
        url: proxy.url,
        token: user,
        WebSocket,
        pingInterval: 200,
        pingTimeout: 800,
      }),
    })
  const alice = connect('alice')
  const bob = connect('bob')
  const room = await alice.open('room')
  await bob.open('room')
  try {
    const sends = Array.from({ length: 150 }, (_, i) =>
      room.send({ text: `line ${i} ${'x'.repeat(300)}` }, { priority: i === 149 ? 'urgent' : 'normal' }),
    )
    await Promise.all(sends)
    await until(() => proxy.bytes.up > 4_000, 10_000, 'backlog under way')
    proxy.cut()
    expect(proxy.state).toBe('cut')
    await until(() => proxy.refused > 0, 10_000, 'a reconnect refused while cut')
    proxy.restore()
    await until(() => proxy.bytes.up > 20_000, 20_000, 'backlog resumed')
    proxy.stall()
    await room.send({ text: 'written during the stall' })
    proxy.restore()
    proxy.handover()
    await room.send({ text: 'written across the handover' })
    await within(Promise.all([alice.whenSynced(), bob.whenSynced()]), 25_000, 'whenSynced through the proxy')
    await check(alice, bob)
  } finally {
    await alice.close()
    await bob.close()
    await proxy.close()
    await server.close()
  }
}

// FINDING (wrong result, docs), fixed: docs/testing.md said "wait for client.whenSynced() on every
// client and call assertConverged". whenSynced() covers a client's own outbox and what it has
// received, not what the server is still forwarding to it, so right after both resolved bob lacked
// the last few of alice's messages (they arrive ~20–100 ms later) and assertConverged threw in 6
// runs out of 8. The recipe now passes `within`: assertConverged compares again every ~20 ms until
// the replicas agree or the time is up.
test('the documented recipe: whenSynced() on every client, then assertConverged within 10 s', async () => {
  await afternoon(async (alice, bob) => {
    const replicas = [
      { client: alice, name: 'alice' },
      { client: bob, name: 'bob' },
    ]
    await assertConverged(replicas, 'room', { within: 10_000 })
    expect((await bob.open('room')).messages()).toHaveLength(152)
  })
}, 60_000)
