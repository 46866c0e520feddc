import type { FrameOf } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { laneDoc, member, storedDoc, TestClient } from '../helpers.js'
import { poll } from './clients.js'
import { isolation, missingBackends, sharedStorage, startNode } from './kit.js'

const skip = await missingBackends('cluster relay')

describe.skipIf(skip !== undefined)('a cluster relays commits, manifests and presence', () => {
  it('forwards a commit made through one process to the subscribers of the others', async () => {
    const isolated = isolation()
    const [a, b, c] = [await startNode(isolated), await startNode(isolated), await startNode(isolated)]
    const alice = await member(a.url, 't-alice', 'alice', 'alicedev1')
    const bob = await member(b.url, 't-bob', 'bob', 'bobdev01')
    const reader = await TestClient.connect(c.url, 't-reader', 'reader01')
    await reader.subscribe('room')
    const doc = laneDoc('room')
    const atBob = bob.client.later((f) => f.type === 'update' && f.doc === doc)
    const atReader = reader.later((f) => f.type === 'update' && f.doc === doc)
    const manifestAtBob = bob.client.later(
      (f) => f.type === 'manifest' && f.changes.some((x) => x.doc === doc),
    )
    const message = alice.device.message(doc, 'hello from a')
    expect(await alice.client.update(doc, message.update)).toBe('ack')
    for (const frame of [await atBob, await atReader]) {
      const seen = new Y.Doc()
      Y.applyUpdate(seen, (frame as FrameOf<'update'>).update)
      expect(seen.getMap('m').get(message.id)).toMatchObject({ body: 'hello from a', author: 'alice' })
    }
    expect(await manifestAtBob).toMatchObject({ type: 'manifest', conversation: 'room' })
    // Bob answers through b; alice hears it through a, and storage holds both.
    const reply = bob.device.message(doc, 'hello from b')
    const atAlice = alice.client.later((f) => f.type === 'update' && f.doc === doc)
    expect(await bob.client.update(doc, reply.update)).toBe('ack')
    await atAlice
    const stored = await storedDoc(sharedStorage(isolated), doc)
    expect([...stored.getMap('m').keys()].sort()).toEqual([message.id, reply.id].sort())
    // A sync through c after that answers with both, never a stale doc.
    const fresh = new Y.Doc()
    await reader.syncStep1(doc, fresh)
    expect([...fresh.getMap('m').keys()].sort()).toEqual([message.id, reply.id].sort())
  })

  it('forwards an urgent message ahead of a backlog queued with it, across processes', async () => {
    const isolated = isolation()
    const [a, b] = [await startNode(isolated), await startNode(isolated)]
    const alice = await member(a.url, 't-alice', 'alice', 'alicedev1')
    const bob = await member(b.url, 't-bob', 'bob', 'bobdev01')
    const normal = laneDoc('room', 'normal')
    const urgent = laneDoc('room', 'urgent')
    const seen = bob.client.frames.length
    // A backlog of 40 normal messages of 4 KB, then one urgent: sent at once, as a client that
    // comes back online does.
    const backlog = Array.from({ length: 40 }, (_, i) => alice.device.message(normal, 'x'.repeat(4096) + i))
    const alarm = alice.device.message(urgent, 'fire')
    let ref = 50_000
    for (const m of backlog) alice.client.send({ type: 'update', doc: normal, ref: ref++, update: m.update })
    alice.client.send({ type: 'update', doc: urgent, ref: ref++, update: alarm.update })
    const last = backlog.at(-1)!
    // Frames in arrival order, replayed into one doc: the index at which the backlog is complete.
    const view = new Y.Doc()
    let lastNormalAt = -1
    let urgentAt = -1
    let index = 0
    const drain = () => {
      for (const frame of bob.client.frames.slice(seen + index)) {
        index++
        if (frame.type !== 'update') continue
        if (frame.doc === urgent && urgentAt < 0) urgentAt = index
        if (frame.doc !== normal) continue
        Y.applyUpdate(view, frame.update)
        if (lastNormalAt < 0 && view.getMap('m').has(last.id)) lastNormalAt = index
      }
      return lastNormalAt >= 0 && urgentAt >= 0
    }
    await poll(drain, 'the backlog and the urgent message at bob')
    // The whole backlog takes several group commits (32 KB each): the urgent one is in an early one.
    console.log(`urgent at ${urgentAt}, backlog complete at ${lastNormalAt}`)
    expect(urgentAt).toBeLessThan(lastNormalAt)
  })

  it('relays presence between processes, stamped with the publisher', async () => {
    const isolated = isolation()
    const [a, b] = [await startNode(isolated), await startNode(isolated)]
    const alice = await member(a.url, 't-alice', 'alice', 'alicedev1')
    const bob = await member(b.url, 't-bob', 'bob', 'bobdev01')
    const { Awareness, encodeAwarenessUpdate, applyAwarenessUpdate } = await import('y-protocols/awareness')
    const mine = new Awareness(new Y.Doc())
    mine.setLocalState({ typing: true, user: 'someone-else' })
    const relayed = bob.client.later((f) => f.type === 'awareness')
    alice.client.send({
      type: 'awareness',
      conversation: 'room',
      update: encodeAwarenessUpdate(mine, [mine.clientID]),
    })
    const view = new Awareness(new Y.Doc())
    applyAwarenessUpdate(view, ((await relayed) as FrameOf<'awareness'>).update, 'test')
    expect(view.getStates().get(mine.clientID)).toEqual({ typing: true, user: 'alice', device: 'alicedev1' })
    // Alice leaves: bob sees her presence cleared.
    const cleared = bob.client.later((f) => f.type === 'awareness')
    alice.client.ws.close()
    applyAwarenessUpdate(view, ((await cleared) as FrameOf<'awareness'>).update, 'test')
    expect(view.getStates().has(mine.clientID)).toBe(false)
    mine.destroy()
    view.destroy()
  })
})
