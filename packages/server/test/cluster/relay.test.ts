import type { FrameOf } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { laneDoc, member, storedDoc, TestClient } from '../helpers.js'
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
