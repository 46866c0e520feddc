import type { StorageAdapter, WriteBatch } from '@tidings/core'
import { memoryStorage } from '@tidings/core'
import type { FrameOf } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { Device, laneDoc, nextRef, startServer, storedDoc, TestClient } from './helpers.js'

describe('subscribe and manifest', () => {
  it('sends a full manifest for version 0, then only what changed since a version', async () => {
    const server = await startServer()
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    const empty = await alice.subscribe('room')
    expect(empty).toMatchObject({ full: true, version: 0, changes: [], retainedFrom: 0 })

    const device = new Device('alice', 'alicedev1')
    expect(await alice.update('room/meta', device.register('room'))).toBe('ack')
    const doc = laneDoc('room')
    expect(await alice.update(doc, device.message(doc, 'hi').update)).toBe('ack')

    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    const full = await bob.subscribe('room')
    expect(full.full).toBe(true)
    expect(full.changes.map((c) => c.doc).sort()).toEqual([doc, 'room/meta'].sort())
    const version = full.version
    expect(version).toBe(2)

    // Resubscribing at the current version: nothing changed.
    const same = await bob.subscribe('room', version)
    expect(same).toMatchObject({ full: false, since: version, version, changes: [] })
    // A version the server never issued is unknown: full.
    expect((await bob.subscribe('room', version + 100)).full).toBe(true)

    const urgent = laneDoc('room', 'urgent')
    expect(await alice.update(urgent, device.message(urgent, 'now').update)).toBe('ack')
    const carol = await TestClient.connect(server.url, 't-mallory', 'mallory1')
    const incremental = await carol.subscribe('room', version)
    expect(incremental).toMatchObject({ full: false, since: version, version: version + 1 })
    expect(incremental.changes).toEqual([{ doc: urgent, dropped: false }])
  })

  it('pushes a manifest to every subscriber when a doc is created', async () => {
    const server = await startServer()
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    await alice.subscribe('room')
    await bob.subscribe('room')
    const pushed = bob.later((f) => f.type === 'manifest')
    const device = new Device('alice', 'alicedev1')
    await alice.update('room/meta', device.register('room'))
    expect(await pushed).toMatchObject({
      since: 0,
      version: 1,
      full: false,
      changes: [{ doc: 'room/meta', dropped: false }],
    })
    // The writer is told too: it learns the version.
    await alice.next((f) => f.type === 'manifest' && f.version === 1)
  })

  it('refuses a subscription authenticate refuses, naming the conversation', async () => {
    const server = await startServer()
    const mallory = await TestClient.connect(server.url, 't-mallory', 'mallory1')
    await expect(mallory.subscribe('secret')).rejects.toThrow('auth/denied')
    // Not subscribed: its frames for the conversation are refused.
    const answer = await mallory.update('secret/meta', new Device('mallory', 'mallory1').register('secret'))
    expect(answer).toMatchObject({ code: 'permission/denied' })
  })
})

describe('sync', () => {
  it('answers step 1 with step 2 and its own step 1, and takes step 2 back', async () => {
    const server = await startServer()
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await alice.subscribe('room')
    const device = new Device('alice', 'alicedev1')
    const doc = laneDoc('room')
    // Nothing is accepted for a device before it is registered in the conversation.
    expect(await alice.update('room/meta', device.register('room'))).toBe('ack')
    // Written while "offline": the server learns it through sync, not an update frame.
    const { id } = device.message(doc, 'written offline')
    const serverVector = await alice.syncStep1(doc, device.doc(doc))
    alice.send({ type: 'sync-step2', doc, update: Y.encodeStateAsUpdate(device.doc(doc), serverVector) })
    await alice.ping()
    await server.idle()
    expect((await storedDoc(server.storage, doc)).getMap('m').get(id)).toMatchObject({
      body: 'written offline',
    })

    // A second device gets it through its own step 1.
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    await bob.subscribe('room')
    const replica = new Y.Doc()
    await bob.syncStep1(doc, replica)
    expect(replica.getMap('m').get(id)).toMatchObject({ body: 'written offline', author: 'alice' })
  })

  // A client that took a new doc's forwards asks for it with ref 1: the step 2 must not repeat
  // what the forwards carried (they may be in flight behind it), yet our step 1 still comes, so the
  // client can send what the server lacks. Only for docs created since the subscription began.
  it('answers a step 1 that took the forwards of a doc created since the subscription with an empty step 2', async () => {
    const server = await startServer()
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    const device = new Device('alice', 'alicedev1')
    await alice.subscribe('room')
    expect(await alice.update('room/meta', device.register('room'))).toBe('ack')
    const older = laneDoc('room', 'low')
    expect(await alice.update(older, device.message(older, 'before bob').update)).toBe('ack')
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    await bob.subscribe('room')
    const doc = laneDoc('room')
    expect(await alice.update(doc, device.message(doc, 'after bob').update)).toBe('ack')
    await bob.next((f) => f.type === 'update' && f.doc === doc)

    const empty = new Y.Doc()
    const serverVector = await bob.syncStep1(doc, empty, true)
    expect(empty.getMap('m').size).toBe(0)
    expect(Y.decodeStateVector(serverVector).size).toBe(1)
    // Without the flag, and for a doc older than the subscription, the answer is whole.
    const plain = new Y.Doc()
    await bob.syncStep1(doc, plain)
    expect(plain.getMap('m').size).toBe(1)
    const old = new Y.Doc()
    await bob.syncStep1(older, old, true)
    expect(old.getMap('m').size).toBe(1)
    // A new subscription starts over: the doc is older than it now.
    const carol = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    await carol.subscribe('room')
    const again = new Y.Doc()
    await carol.syncStep1(doc, again, true)
    expect(again.getMap('m').size).toBe(1)
  })

  it('forwards committed updates to other subscribers as update frames with ref 0', async () => {
    const server = await startServer()
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    await alice.subscribe('room')
    await bob.subscribe('room')
    const doc = laneDoc('room')
    const device = new Device('alice', 'alicedev1')
    expect(await alice.update('room/meta', device.register('room'))).toBe('ack')
    const { update } = device.message(doc, 'hello bob')
    const forwarded = bob.later((f) => f.type === 'update' && f.doc === doc)
    expect(await alice.update(doc, update)).toBe('ack')
    const frame = (await forwarded) as FrameOf<'update'>
    expect(frame.ref).toBe(0)
    expect(frame.update).toEqual(update)
    await alice.ping()
    // The sender does not get its own update back.
    expect(alice.updatesFor(doc)).toHaveLength(0)
  })

  it('acks a ref only after storage.write resolved', async () => {
    const inner = memoryStorage()
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const events: string[] = []
    const storage: StorageAdapter = {
      ...inner,
      async write(batch: WriteBatch) {
        if (batch.updates?.length) {
          events.push('write-start')
          await gate
        }
        await inner.write(batch)
        if (batch.updates?.length) events.push('write-done')
      },
    }
    const server = await startServer({ storage })
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await alice.subscribe('room')
    const device = new Device('alice', 'alicedev1')
    const ref = nextRef()
    const acked = alice.update('room/meta', device.register('room'), ref).then((answer) => {
      events.push('ack')
      return answer
    })
    // The server keeps answering while the write is pending, but no ack comes.
    await alice.ping()
    await alice.ping()
    expect(events).toEqual(['write-start'])
    expect(alice.frames.some((f) => f.type === 'ack')).toBe(false)
    release()
    expect(await acked).toBe('ack')
    expect(events).toEqual(['write-start', 'write-done', 'ack'])
  })

  it('relays presence to the other subscribers of a conversation', async () => {
    const server = await startServer()
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    await alice.subscribe('room')
    await bob.subscribe('room')
    const { Awareness, encodeAwarenessUpdate, applyAwarenessUpdate } = await import('y-protocols/awareness')
    const mine = new Awareness(new Y.Doc())
    mine.setLocalState({ typing: true })
    const relayed = bob.later((f) => f.type === 'awareness')
    alice.send({
      type: 'awareness',
      conversation: 'room',
      update: encodeAwarenessUpdate(mine, [mine.clientID]),
    })
    const theirs = new Awareness(new Y.Doc())
    applyAwarenessUpdate(theirs, ((await relayed) as FrameOf<'awareness'>).update, 'test')
    expect(theirs.getStates().get(mine.clientID)).toEqual({
      typing: true,
      user: 'alice',
      device: 'alicedev1',
    })
    // When alice leaves, bob learns her presence is gone.
    const gone = bob.later((f) => f.type === 'awareness')
    alice.ws.close()
    applyAwarenessUpdate(theirs, ((await gone) as FrameOf<'awareness'>).update, 'test')
    expect(theirs.getStates().has(mine.clientID)).toBe(false)
    mine.destroy()
    theirs.destroy()
  })

  it('answers ping with pong and its clock', async () => {
    const server = await startServer({ now: () => 1234 })
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    const pong = alice.later((f) => f.type === 'pong')
    alice.send({ type: 'ping', time: 42 })
    expect(await pong).toEqual({ type: 'pong', time: 42, serverTime: 1234 })
  })
})

describe('docs in memory', () => {
  it('unloads idle docs, compacting their rows, and reloads them from storage on next use', async () => {
    const inner = memoryStorage()
    let loads = 0
    let compacted: (doc: string) => void = () => {}
    const firstCompaction = new Promise<string>((resolve) => {
      compacted = resolve
    })
    const storage: StorageAdapter = {
      ...inner,
      async load(doc) {
        loads++
        return inner.load(doc)
      },
      async compact(doc) {
        await inner.compact(doc)
        compacted(doc)
      },
    }
    const server = await startServer({ storage, docIdleMs: 40, compactAfter: 3 })
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await alice.subscribe('room')
    const device = new Device('alice', 'alicedev1')
    expect(await alice.update('room/meta', device.register('room'))).toBe('ack')
    const doc = laneDoc('room')
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      const m = device.message(doc, `m${i}`)
      ids.push(m.id)
      expect(await alice.update(doc, m.update)).toBe('ack')
    }
    expect(await firstCompaction).toBe(doc)
    expect(await inner.load(doc)).toHaveLength(1)
    const before = loads
    const replica = new Y.Doc()
    await alice.syncStep1(doc, replica)
    expect(loads).toBeGreaterThan(before)
    expect([...replica.getMap('m').keys()].sort()).toEqual(ids.sort())
  })
})
