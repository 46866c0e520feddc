// Redis is a shortcut, PostgreSQL the truth: with Redis gone (and a process started meanwhile),
// every live client must still get every committed update, from the periodic catch-up.
import { redisFanout } from '@tidings/fanout-redis'
import { createServer } from '@tidings/server'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { authenticate } from '../../packages/server/test/helpers.js'
import {
  acked,
  hasRedisServer,
  laneDoc,
  later,
  member,
  missingBackends,
  isolation as newIsolation,
  ownRedis,
  sharedStorage,
  TestClient,
  until,
} from './kit.js'

const missing = await missingBackends('attack13 redis down')
const skip = missing ?? (hasRedisServer() ? undefined : 'no redis-server binary')

/** A node on the isolation's schema with its fan-out on `redisUrl`; fails if it does not start in 10 s. */
const node = async (isolated: ReturnType<typeof newIsolation>, redisUrl: string) => {
  const starting = createServer({
    port: 0,
    authenticate,
    onError: () => undefined,
    storage: sharedStorage(isolated),
    fanout: redisFanout({ url: redisUrl, prefix: isolated.prefix, onError: () => undefined }),
  })
  const server = await Promise.race([
    starting,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('createServer did not resolve within 10 s with Redis down')), 10_000),
    ),
  ])
  later(() => server.close())
  return server
}

/** Whether a client received an update frame for `doc` carrying each body of `sent`. */
const bodies = (client: TestClient, doc: string, sent: Set<string>) =>
  [...sent].every((body) => received(client, doc).has(body))

/** The message bodies of the update frames a client received for `doc`, applied as Yjs would. */
const received = (client: TestClient, doc: string): Set<string> => {
  const replica = new Y.Doc()
  for (const frame of client.updatesFor(doc)) Y.applyUpdate(replica, frame.update)
  return new Set([...replica.getMap('m').values()].map((v) => (v as { body: string }).body))
}

describe.skipIf(skip !== undefined)('Redis down', () => {
  // FINDING (attack13 #3): createServer({ fanout: redisFanout({ url }) }) rejects within ~0.2 s
  // with ioredis' bare "Connection is closed." while Redis is down, so a process cannot start (or
  // restart after a crash) during a Redis outage, although storage is the log and the periodic
  // catch-up would serve its clients; the message names neither Redis nor the URL.
  it('starts a process while Redis is down; its clients get what the others commit', async () => {
    const redis = await ownRedis()
    const isolated = newIsolation()
    const a = await node(isolated, redis.url)
    const alice = await member(a.url, 't-alice', 'alice', 'alicedev1')
    await redis.kill()
    const c = await node(isolated, redis.url)
    const dave = await member(c.url, 't-mallory', 'mallory', 'mallory1')
    const doc = laneDoc('room')
    await acked(alice, doc, alice.device.message(doc, 'to c').update)
    await until(() => received(dave.client, doc).has('to c'), 'c relays a’s write')
  })

  /** Three processes on a Redis of the test's own; alice on a, bob on b, dave on c, all in room. */
  const cluster = async () => {
    const redis = await ownRedis()
    const isolated = newIsolation()
    const [a, b, c] = [
      await node(isolated, redis.url),
      await node(isolated, redis.url),
      await node(isolated, redis.url),
    ]
    const alice = await member(a.url, 't-alice', 'alice', 'alicedev1')
    const bob = await member(b.url, 't-bob', 'bob', 'bobdev01')
    const dave = await member(c.url, 't-mallory', 'mallory', 'mallory1')
    return { redis, c, alice, bob, dave }
  }

  /** Writes 10 messages through a and one through c while Redis is down. */
  const writeWhileDown = async ({ alice, dave }: Awaited<ReturnType<typeof cluster>>, doc: string) => {
    const sent = new Set<string>()
    for (let i = 0; i < 10; i++) {
      const body = `while redis is down ${i}`
      sent.add(body)
      await acked(alice, doc, alice.device.message(doc, body).update)
    }
    sent.add('written through c')
    await acked(dave, doc, dave.device.message(doc, 'written through c').update)
    return sent
  }

  it('delivers every update of a doc all clients hold to every process while Redis stays down', async () => {
    const world = await cluster()
    const { redis, c, alice, bob, dave } = world
    const doc = laneDoc('room')
    // The doc exists and every client synced it before Redis goes.
    await acked(alice, doc, alice.device.message(doc, 'before').update)
    for (const who of [alice, bob, dave]) await who.client.syncStep1(doc, new Y.Doc())
    await redis.kill()
    const sent = await writeWhileDown(world, doc)
    // Redis stays down the whole time: only catching up from PostgreSQL can deliver these.
    // Each client gets what the others wrote (a writer gets no echo of its own updates).
    const fromA = new Set([...sent].filter((body) => body !== 'written through c'))
    await until(() => bodies(bob.client, doc, sent), 'b relays everything to bob')
    await until(() => bodies(dave.client, doc, fromA), 'c relays a’s writes to dave')
    await until(() => received(alice.client, doc).has('written through c'), 'a relays c’s write to alice')
    // Redis back: a write through a reaches c's client again.
    await redis.start()
    await acked(alice, doc, alice.device.message(doc, 'after').update)
    await until(() => received(dave.client, doc).has('after'), 'c relays after Redis returned')
    // A client syncing fresh from c sees the whole conversation (nothing stale served).
    const late = await TestClient.connect(c.url, 't-bob', 'bobdev02')
    await late.subscribe('room')
    const replica = new Y.Doc()
    await late.syncStep1(doc, replica)
    const stored = [...replica.getMap('m').values()].map((v) => (v as { body: string }).body)
    expect(stored).toEqual(expect.arrayContaining([...sent, 'after']))
  })

  // FINDING (attack13 #4): a doc created through process a while Redis is down (a new period, or
  // a conversation's first urgent message) is announced to bob on b by a manifest (the periodic
  // catch-up), but none of its updates ever reaches him: not while Redis is down, and not after it
  // is back (a later message of the doc is relayed, but depends on the missing ones, so his Yjs
  // doc holds it pending). The reference client sends no step 1 for a doc created after its
  // subscription (docs/protocol.md), so a live client misses those messages until it reconnects.
  // With Redis up the same steps deliver everything.
  it('relays every update of a doc created while Redis was down to live clients of other processes', async () => {
    const world = await cluster()
    const { redis, alice, bob } = world
    await redis.kill()
    const doc = laneDoc('room', 'urgent')
    const sent = await writeWhileDown(world, doc)
    await until(
      () =>
        bob.client.frames.some(
          (f) => f.type === 'manifest' && f.changes.some((change) => change.doc === doc && !change.dropped),
        ),
      `a manifest naming ${doc} on b`,
    )
    await redis.start()
    await acked(alice, doc, alice.device.message(doc, 'after redis is back').update)
    sent.add('after redis is back')
    await until(() => bodies(bob.client, doc, sent), `b relays every update of ${doc} to bob`)
  })
})
