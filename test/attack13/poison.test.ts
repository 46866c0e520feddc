// Bytes one process cannot store or should not route must cost only their sender: the other
// processes (and the other clients of the same process, whose updates share its commit rounds)
// go on as before.
import { decodeAwareness, encodeAwareness } from '@tidings/core'
import type { FrameOf } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import {
  acked,
  Device,
  isolation,
  laneDoc,
  member,
  missingBackends,
  refusalCode,
  sharedStorage,
  startNode,
  TestClient,
} from './kit.js'

const skip = await missingBackends('attack13 poison')

/**
 * Names at and past the server's 512-character cap, in 3-byte UTF-8 (1.5 kB: close to what a
 * PostgreSQL btree row holds), with a NUL, and with characters PostgreSQL's text refuses elsewhere.
 */
const HOSTILE = [
  '\u4e2d'.repeat(500),
  '\u4e2d'.repeat(600),
  'ro\u0000om',
  '\ud83d\ude00'.repeat(250),
  'a\\b%_',
]
/** Names that would match `room` if a process routed by Redis pattern (glob) channels. */
const GLOBS = ['*', 'r*', 'room*', 'ro?m', '[r]oom', 'room\\', '*/meta']

describe.skipIf(skip !== undefined)('malformed or hostile input to one process', () => {
  it('lets alice on a and bob on b go on while mallory feeds a names storage cannot hold', async () => {
    const isolated = isolation()
    const [a, b] = [await startNode(isolated), await startNode(isolated)]
    const alice = await member(a.url, 't-alice', 'alice', 'alicedev1')
    const bob = await member(b.url, 't-bob', 'bob', 'bobdev01')
    const mallory = await TestClient.connect(a.url, 't-mallory', 'mallory1')
    const doc = laneDoc('room')
    for (const [i, name] of HOSTILE.entries()) {
      // Mallory's subscription, device entry and message under the hostile name, sent without
      // waiting, so they share a commit round of a with alice's message.
      const device = new Device('mallory', 'mallory1')
      mallory.send({ type: 'subscribe', conversation: name, version: 0 })
      mallory.send({ type: 'update', doc: `${name}/meta`, ref: 1000 + i, update: device.register(name) })
      const lane = `${name}/normal/${doc.split('/')[2]}`
      mallory.send({ type: 'update', doc: lane, ref: 2000 + i, update: device.message(lane, 'x').update })
      const relayed = bob.client.later((f) => f.type === 'update' && f.doc === doc)
      await acked(alice, doc, alice.device.message(doc, `still fine ${i}`).update)
      await relayed
      // Mallory may be disconnected for malformed input by now: that is hers to bear.
      await Promise.race([mallory.ping(), mallory.closed])
    }
    // Both processes still commit and relay in both directions, nobody was dropped.
    const back = bob.device.message(doc, 'from b')
    const seen = alice.client.later((f) => f.type === 'update' && f.doc === doc)
    await acked(bob, doc, back.update)
    await seen
    expect((await sharedStorage(isolated).load(doc)).length).toBeGreaterThanOrEqual(HOSTILE.length + 1)
    const closedYet = await Promise.race([
      Promise.race([alice.client.closed, bob.client.closed]).then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100)),
    ])
    expect(closedYet).toBe(false)
    for (const node of [a, b]) {
      const health = await fetch(`${node.url.replace('ws', 'http')}/health`)
      expect(health.status).toBe(200)
    }
  })

  it('relays nothing of conversation room to a subscriber of glob-like names on another process', async () => {
    const isolated = isolation()
    const [a, b] = [await startNode(isolated), await startNode(isolated)]
    const alice = await member(a.url, 't-alice', 'alice', 'alicedev1')
    const mallory = await TestClient.connect(b.url, 't-mallory', 'mallory1')
    for (const name of GLOBS) {
      mallory.send({ type: 'subscribe', conversation: name, version: 0 })
    }
    await mallory.ping()
    // A witness subscribed to room on b shows when b has relayed alice's writes.
    const witness = await member(b.url, 't-bob', 'bob', 'bobdev01')
    const doc = laneDoc('room')
    for (let i = 0; i < 3; i++) {
      const relayed = witness.client.later((f) => f.type === 'update' && f.doc === doc)
      await acked(alice, doc, alice.device.message(doc, `for members ${i}`).update)
      await relayed
    }
    await acked(
      alice,
      'room/meta',
      alice.device.change('room/meta', (d) => d.getMap('pins').set('x/alicedev1', null)),
    ).catch(() => undefined)
    await mallory.ping()
    const leaked = mallory.frames.filter(
      (f) => ('doc' in f && typeof f.doc === 'string' && f.doc.startsWith('room/')) || f.type === 'awareness',
    )
    expect(leaked).toEqual([])
    expect(refusalCode(await mallory.update(doc, new Uint8Array([0, 0])))).toBe('permission/denied')
  })

  it('relays presence stamped by one process to another without letting its state reach further', async () => {
    const isolated = isolation()
    const [a, b] = [await startNode(isolated), await startNode(isolated)]
    const mallory = await member(a.url, 't-mallory', 'mallory', 'mallory1')
    const alice = await member(a.url, 't-alice', 'alice', 'alicedev1')
    const bob = await member(b.url, 't-bob', 'bob', 'bobdev01')
    const deep = JSON.parse(`${'{"a":'.repeat(60)}1${'}'.repeat(60)}`) as Record<string, unknown>
    const hostile = [
      {
        client: 1,
        clock: 1,
        state: JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}'),
      },
      {
        client: 2,
        clock: Number.MAX_SAFE_INTEGER,
        state: { user: 'alice', device: 'alicedev1', typing: true },
      },
      { client: 0xffffffff, clock: 1, state: deep },
    ]
    mallory.client.send({ type: 'awareness', conversation: 'room', update: encodeAwareness(hostile) })
    await mallory.client.ping()
    // Alice's presence after it, through a: bob on b gets it, so b took everything before it.
    const seen = bob.client.later(
      (f) =>
        f.type === 'awareness' &&
        decodeAwareness((f as FrameOf<'awareness'>).update).some((e) => e.client === 77),
    )
    alice.client.send({
      type: 'awareness',
      conversation: 'room',
      update: encodeAwareness([{ client: 77, clock: 1, state: { typing: true } }]),
    })
    await seen
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    const states = bob.client.frames
      .filter((f): f is FrameOf<'awareness'> => f.type === 'awareness')
      .flatMap((f) => decodeAwareness(f.update))
    // Whatever b relayed under mallory's ids names mallory, never alice.
    for (const entry of states.filter((e) => e.client !== 77 && e.state)) {
      expect(entry.state?.user).toBe('mallory')
    }
    expect(states.find((e) => e.client === 77)?.state?.user).toBe('alice')
    await acked(bob, laneDoc('room'), bob.device.message(laneDoc('room'), 'after presence').update)
  })
})
