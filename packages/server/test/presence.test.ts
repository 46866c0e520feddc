import type { FrameOf } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import { startServer, TestClient } from './helpers.js'
import { type AwarenessEntry, decodeAwareness, encodeAwareness, RawY } from './y-raw.js'

/** Awareness entries a Tidings client received for a conversation, in order. */
const presenceOf = (client: TestClient, conversation: string): AwarenessEntry[] =>
  client.frames
    .filter((f): f is FrameOf<'awareness'> => f.type === 'awareness' && f.conversation === conversation)
    .flatMap((f) => decodeAwareness(f.update))

const publish = (client: TestClient, conversation: string, entries: AwarenessEntry[]) =>
  client.send({ type: 'awareness', conversation, update: encodeAwareness(entries) })

/** Waits until a Tidings client received an awareness entry for `id` that matches. */
const seen = async (client: TestClient, id: number, match: (entry: AwarenessEntry) => boolean) => {
  while (!presenceOf(client, 'room').some((e) => e.client === id && match(e))) {
    await client.later((f) => f.type === 'awareness')
  }
}

describe('presence is stamped with the authenticated user', () => {
  it('replaces a forged `user` (and inserts a missing one) for every receiver on the Tidings protocol', async () => {
    const server = await startServer()
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    const mallory = await TestClient.connect(server.url, 't-mallory', 'mallory1')
    await alice.subscribe('room')
    await mallory.subscribe('room')
    publish(mallory, 'room', [
      { client: 101, clock: 1, state: { user: 'alice', typing: true } },
      { client: 102, clock: 1, state: { typing: false } },
    ])
    await mallory.ping()
    expect(mallory.errors()).toEqual([])
    await seen(alice, 102, () => true)
    const got = new Map(presenceOf(alice, 'room').map((e) => [e.client, e.state]))
    expect(got.get(101)).toEqual({ user: 'mallory', device: 'mallory1', typing: true })
    expect(got.get(102)).toEqual({ user: 'mallory', device: 'mallory1', typing: false })
    // A later subscriber gets the stamped states too.
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    await bob.subscribe('room')
    await seen(bob, 101, (e) => (e.state as { user?: string }).user === 'mallory')
    expect(presenceOf(bob, 'room').some((e) => (e.state as { user?: string })?.user === 'alice')).toBe(false)
  })

  it("replaces a forged `device` with the connection's authenticated one", async () => {
    const server = await startServer()
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    await alice.subscribe('room')
    await bob.subscribe('room')
    publish(bob, 'room', [{ client: 31, clock: 1, state: { device: 'alicedev1', typing: true } }])
    await seen(alice, 31, () => true)
    expect(presenceOf(alice, 'room').find((e) => e.client === 31)?.state).toEqual({
      user: 'bob',
      device: 'bobdev01',
      typing: true,
    })
  })

  it("clears a connection's presence when it times out without a word", async () => {
    const server = await startServer({ limits: { idleTimeoutMs: 300 } })
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    await alice.subscribe('room')
    await bob.subscribe('room')
    publish(bob, 'room', [{ client: 32, clock: 1, state: { typing: false } }])
    await seen(alice, 32, (e) => e.state !== null)
    // Alice keeps her link alive; bob falls silent and the server closes his after the idle timeout.
    const pinger = setInterval(() => alice.send({ type: 'ping', time: 0 }), 50)
    try {
      await seen(alice, 32, (e) => e.state === null)
    } finally {
      clearInterval(pinger)
    }
  })

  it('refuses presence states that are not objects', async () => {
    const server = await startServer()
    const mallory = await TestClient.connect(server.url, 't-mallory', 'mallory1')
    await mallory.subscribe('room')
    publish(mallory, 'room', [{ client: 7, clock: 1, state: 'alice' }])
    await mallory.ping()
    expect(mallory.errors()).toMatchObject([{ code: 'protocol/malformed' }])
  })

  it('stamps presence on /y/ rooms, as stock providers see it', async () => {
    const server = await startServer()
    const alice = await RawY.open(server.url, 'notes', { token: 't-alice' })
    const mallory = await RawY.open(server.url, 'notes', { token: 't-mallory' })
    mallory.sendAwareness([{ client: 55, clock: 1, state: { user: 'alice', cursor: 3 } }])
    await alice.until(() => alice.states.has(55))
    expect(alice.states.get(55)!.state).toEqual({ user: 'mallory', cursor: 3 })
    // The sender's own echo is stamped as well.
    await mallory.until(() => mallory.states.has(55))
    expect(mallory.states.get(55)!.state).toEqual({ user: 'mallory', cursor: 3 })
  })
})

describe('an awareness id belongs to the user who introduced it', () => {
  it('is refused to another user while its owner reconnects, and given back to the owner (Tidings protocol)', async () => {
    const server = await startServer()
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    await bob.subscribe('room')
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await alice.subscribe('room')
    publish(alice, 'room', [{ client: 4242, clock: 1, state: { online: true } }])
    await seen(bob, 4242, (e) => e.state !== null)

    // Alice's link drops: her presence is cleared, but her id stays hers.
    alice.ws.close()
    await seen(bob, 4242, (e) => e.state === null)
    const mallory = await TestClient.connect(server.url, 't-mallory', 'mallory1')
    await mallory.subscribe('room')
    publish(mallory, 'room', [{ client: 4242, clock: 50, state: { online: true } }])
    await mallory.ping()
    expect(mallory.errors()).toMatchObject([{ code: 'permission/denied' }])

    // Alice comes back with the same id: it is hers again.
    const again = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await again.subscribe('room')
    publish(again, 'room', [{ client: 4242, clock: 60, state: { online: true } }])
    await again.ping()
    expect(again.errors()).toEqual([])
    await seen(bob, 4242, (e) => e.clock === 60)
    expect(presenceOf(bob, 'room').filter((e) => e.client === 4242 && e.state !== null)).toEqual([
      { client: 4242, clock: 1, state: { online: true, user: 'alice', device: 'alicedev1' } },
      { client: 4242, clock: 60, state: { online: true, user: 'alice', device: 'alicedev1' } },
    ])
  })

  it('lets the owner take it over from a connection that is still open (a half-open link)', async () => {
    const server = await startServer()
    const first = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await first.subscribe('room')
    publish(first, 'room', [{ client: 9, clock: 1, state: { online: true } }])
    await first.ping()
    const second = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await second.subscribe('room')
    publish(second, 'room', [{ client: 9, clock: 2, state: { online: true } }])
    await second.ping()
    expect(second.errors()).toEqual([])
    // The old connection going away no longer clears the state the new one owns.
    first.ws.close()
    await first.closed
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    await bob.subscribe('room')
    await seen(bob, 9, (e) => e.clock === 2 && e.state !== null)
  })

  it('is refused to another user on /y/ while its owner reconnects', async () => {
    const server = await startServer()
    const bob = await RawY.open(server.url, 'notes', { token: 't-bob' })
    const alice = await RawY.open(server.url, 'notes', { token: 't-alice' })
    alice.sendAwareness([{ client: 777, clock: 1, state: { name: 'Alice' } }])
    await bob.until(() => bob.states.get(777)?.state !== undefined)
    alice.ws.close()
    await bob.until(() => bob.states.get(777)?.state === null)

    const mallory = await RawY.open(server.url, 'notes', { token: 't-mallory' })
    mallory.sendAwareness([{ client: 777, clock: 90, state: { name: 'Alice' } }])
    await mallory.queryAwareness()
    expect(mallory.states.get(777)?.state ?? null).toBeNull()
    await bob.queryAwareness()
    expect(bob.awarenessLog.filter((e) => e.client === 777 && e.clock >= 90)).toEqual([])

    const again = await RawY.open(server.url, 'notes', { token: 't-alice' })
    again.sendAwareness([{ client: 777, clock: 95, state: { name: 'Alice' } }])
    await bob.until(() => bob.states.get(777)?.clock === 95)
    expect(bob.states.get(777)!.state).toEqual({ name: 'Alice', user: 'alice' })
  })
})

describe('/y/ presence names only the device the connection bound', () => {
  it('stamps `?device=` and removes a claimed device from a client that named none', async () => {
    const server = await startServer()
    const alice = await RawY.open(server.url, 'notes', { token: 't-alice', device: 'alicedev1' })
    const mallory = await RawY.open(server.url, 'notes', { token: 't-mallory' })
    alice.sendAwareness([{ client: 61, clock: 1, state: { device: 'other', cursor: 1 } }])
    mallory.sendAwareness([{ client: 62, clock: 1, state: { device: 'alicedev1', cursor: 2 } }])
    await alice.until(() => alice.states.has(61) && alice.states.has(62))
    expect(alice.states.get(61)!.state).toEqual({ user: 'alice', device: 'alicedev1', cursor: 1 })
    expect(alice.states.get(62)!.state).toEqual({ user: 'mallory', cursor: 2 })
  })
})
