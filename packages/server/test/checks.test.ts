import type { FrameOf } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { Device, dumpStorage, laneDoc, startServer, TestClient } from './helpers.js'
import { deleteOnly } from './raw-updates.js'

const DOC = laneDoc('room')
const CONTROL = `room/control/${DOC.split('/')[2]}`
const RECEIPTS = `room/receipts/${DOC.split('/')[2]}`

/** Alice and Bob registered, Alice has one message; Mallory and a reader are subscribed too. */
const setup = async () => {
  const server = await startServer()
  const connect = async (token: string, user: string, device: string) => {
    const client = await TestClient.connect(server.url, token, device)
    await client.subscribe('room')
    return { client, device: new Device(user, device) }
  }
  const alice = await connect('t-alice', 'alice', 'alicedev1')
  const bob = await connect('t-bob', 'bob', 'bobdev01')
  const mallory = await connect('t-mallory', 'mallory', 'mallory1')
  const reader = await connect('t-reader', 'reader', 'reader01')
  for (const { client, device } of [alice, bob, mallory]) {
    expect(await client.update('room/meta', device.register('room'))).toBe('ack')
  }
  const message = alice.device.message(DOC, 'the contract')
  expect(await alice.client.update(DOC, message.update)).toBe('ack')
  await server.idle()

  /** A fresh device of `who` that has synced `doc` from the server first (sees what the server has). */
  const replica = async (who: { client: TestClient; device: Device }, doc: string) => {
    const device = who.device.fresh()
    await who.client.syncStep1(doc, device.doc(doc))
    return device
  }

  /** Sends an update that must be refused with `code`: storage and other clients see nothing. */
  const refused = async (who: { client: TestClient }, doc: string, update: Uint8Array, code: string) => {
    await server.idle()
    await bob.client.ping()
    const before = await dumpStorage(server.storage, 'room')
    const bobSaw = bob.client.frames.length
    const answer = await who.client.update(doc, update)
    expect(answer, `expected ${code}`).toMatchObject({ code, doc })
    await server.idle()
    await bob.client.ping()
    expect(await dumpStorage(server.storage, 'room')).toBe(before)
    if (who !== bob) {
      expect(
        bob.client.frames.slice(bobSaw).filter((f) => f.type === 'update' || f.type === 'manifest'),
      ).toEqual([])
    }
    return answer as FrameOf<'error'>
  }
  return { server, alice, bob, mallory, reader, message, replica, refused }
}

const record = (author: string, device: string, extra: Record<string, unknown> = {}) => ({
  author,
  device,
  stamp: { wall: Date.now(), counter: 0 },
  body: 'x',
  priority: 'normal',
  ...extra,
})

describe('malformed updates', () => {
  it('refuses V2 encodings and unreadable bytes with protocol/malformed', async () => {
    const { mallory, refused } = await setup()
    const doc = new Y.Doc()
    doc.getMap('m').set('mallory1.1', record('mallory', 'mallory1'))
    await refused(mallory, DOC, Y.encodeStateAsUpdateV2(doc), 'protocol/malformed')
    await refused(mallory, DOC, new Uint8Array([1, 2, 3, 250, 7]), 'protocol/malformed')
    // The V1 bytes of the same doc are fine.
    expect(await mallory.client.update(DOC, Y.encodeStateAsUpdate(doc))).toBe('ack')
  })

  it('holds an update whose dependencies are missing until they come, and refuses it if they never do', async () => {
    const { mallory, server } = await setup()
    const doc = new Y.Doc()
    doc.getMap('m').set('mallory1.1', record('mallory', 'mallory1'))
    const first = Y.encodeStateAsUpdate(doc)
    const sv = Y.encodeStateVector(doc)
    doc.getMap('m').set('mallory1.2', record('mallory', 'mallory1'))
    // The second set alone starts past what the server has of this client: it waits ...
    const second = mallory.client.update(DOC, Y.encodeStateAsUpdate(doc, sv))
    await mallory.client.ping()
    await server.idle()
    // ... until the first arrives (a retried earlier frame, say); then both commit.
    expect(await mallory.client.update(DOC, first)).toBe('ack')
    expect(await second).toBe('ack')
  })

  it('refuses an update whose dependencies never come, after dependencyWaitMs', async () => {
    const server = await startServer({ limits: { dependencyWaitMs: 30 } })
    const client = await TestClient.connect(server.url, 't-mallory', 'mallory1')
    await client.subscribe('room')
    const doc = new Y.Doc()
    doc.getMap('m').set('mallory1.1', record('mallory', 'mallory1'))
    const sv = Y.encodeStateVector(doc)
    doc.getMap('m').set('mallory1.2', record('mallory', 'mallory1'))
    expect(await client.update(DOC, Y.encodeStateAsUpdate(doc, sv))).toMatchObject({
      code: 'protocol/malformed',
    })
    expect(await server.storage.listDocs('room')).toEqual([])
  })
})

describe('permissions', () => {
  it('refuses any write from a user who may not write the conversation', async () => {
    const { reader, refused } = await setup()
    await refused(reader, DOC, reader.device.message(DOC, 'hi').update, 'permission/denied')
    await refused(reader, 'room/meta', reader.device.register('room'), 'permission/denied')
  })

  it('accepts a read-only client’s step 2 when it adds nothing', async () => {
    const { reader, replica, server } = await setup()
    const device = await replica(reader, DOC)
    reader.client.send({ type: 'sync-step2', doc: DOC, update: Y.encodeStateAsUpdate(device.doc(DOC)) })
    await reader.client.ping()
    await server.idle()
    expect(reader.client.errors()).toEqual([])
  })
})

describe('impersonation', () => {
  it('refuses a message written as another user', async () => {
    const { mallory, refused } = await setup()
    const forged = mallory.device.message(DOC, 'pay me', { author: 'alice' })
    await refused(mallory, DOC, forged.update, 'permission/denied')
  })

  it('refuses a message keyed with another user’s device', async () => {
    const { mallory, refused } = await setup()
    const update = mallory.device.change(DOC, (d) =>
      d.getMap('m').set('alicedev1.7', record('alice', 'alicedev1')),
    )
    await refused(mallory, DOC, update, 'permission/denied')
    const other = mallory.device
      .fresh()
      .change(DOC, (d) => d.getMap('m').set('mallory1.8', record('mallory', 'alicedev1')))
    await refused(mallory, DOC, other, 'permission/denied')
  })

  it('refuses a connection that claims another user’s device id', async () => {
    const { server, bob } = await setup()
    // A device belongs to the user who used it first: the squatter does not get in at all.
    const squatter = await TestClient.open(server.url)
    squatter.send({ type: 'auth', token: 't-mallory', device: 'alicedev1' })
    expect(await squatter.next((f) => f.type === 'error')).toMatchObject({ code: 'auth/denied' })
    expect((await squatter.closed).code).toBe(4401)
    expect(bob.client.errors()).toEqual([])
  })

  it('refuses structs under another user’s clientID', async () => {
    const { mallory, alice, replica, refused } = await setup()
    const device = await replica(mallory, DOC)
    const doc = device.doc(DOC)
    const aliceClient = alice.device.doc(DOC).clientID
    doc.clientID = aliceClient
    const before = Y.encodeStateVector(doc)
    doc.getMap('m').set('mallory1.1', record('mallory', 'mallory1'))
    await refused(mallory, DOC, Y.encodeStateAsUpdate(doc, before), 'permission/denied')
  })

  it('refuses deleting another user’s message, and pre-deleting its future ones', async () => {
    const { mallory, alice, message, replica, refused } = await setup()
    const device = await replica(mallory, DOC)
    const del = device.change(DOC, (d) => d.getMap('m').delete(message.id))
    await refused(mallory, DOC, del, 'permission/denied')
    const aliceClient = alice.device.doc(DOC).clientID
    const state = Y.getState(alice.device.doc(DOC).store, aliceClient)
    await refused(mallory, DOC, deleteOnly(aliceClient, state, 10), 'permission/denied')
    // Alice's next message is not pre-deleted: it arrives intact.
    const next = alice.device.message(DOC, 'still here')
    expect(await alice.client.update(DOC, next.update)).toBe('ack')
  })

  it('refuses editing another user’s message, in its lane doc or with a control record', async () => {
    const { mallory, message, replica, refused } = await setup()
    const device = await replica(mallory, DOC)
    const overwrite = device.change(DOC, (d) =>
      d.getMap('m').set(message.id, record('alice', 'alicedev1', { body: 'the contract is void' })),
    )
    await refused(mallory, DOC, overwrite, 'permission/denied')
    const edit = { stamp: { wall: Date.now(), counter: 1 }, body: 'void' }
    const asMallory = mallory.device
      .fresh()
      .change(CONTROL, (d) => d.getMap('c').set(`${message.id}/mallory1`, edit))
    await refused(mallory, CONTROL, asMallory, 'permission/denied')
    const asAlice = mallory.device
      .fresh()
      .change(CONTROL, (d) => d.getMap('c').set(`${message.id}/alicedev1`, edit))
    await refused(mallory, CONTROL, asAlice, 'permission/denied')
  })

  it('lets the author edit and delete her own message', async () => {
    const { alice, message } = await setup()
    const edit = { stamp: { wall: Date.now(), counter: 1 }, body: 'amended' }
    const update = alice.device.change(CONTROL, (d) => d.getMap('c').set(`${message.id}/alicedev1`, edit))
    expect(await alice.client.update(CONTROL, update)).toBe('ack')
    const del = alice.device.change(DOC, (d) => d.getMap('m').delete(message.id))
    expect(await alice.client.update(DOC, del)).toBe('ack')
  })

  it('refuses presence published for another connection’s client id', async () => {
    const { alice, bob, mallory } = await setup()
    const { Awareness, encodeAwarenessUpdate, applyAwarenessUpdate } = await import('y-protocols/awareness')
    const aliceAwareness = new Awareness(new Y.Doc())
    aliceAwareness.setLocalState({ name: 'alice' })
    const relayed = bob.client.later((f) => f.type === 'awareness')
    alice.client.send({
      type: 'awareness',
      conversation: 'room',
      update: encodeAwarenessUpdate(aliceAwareness, [aliceAwareness.clientID]),
    })
    const view = new Awareness(new Y.Doc())
    applyAwarenessUpdate(view, ((await relayed) as FrameOf<'awareness'>).update, 'test')

    // Mallory claims alice's client id, with a higher clock, and tries to clear it too.
    const forged = new Awareness(new Y.Doc())
    forged.clientID = aliceAwareness.clientID
    forged.setLocalState({ name: 'alice', status: 'resigned' })
    forged.setLocalState({ name: 'alice', status: 'resigned!' })
    const answer = mallory.client.later((f) => f.type === 'error')
    const bobSaw = bob.client.frames.length
    mallory.client.send({
      type: 'awareness',
      conversation: 'room',
      update: encodeAwarenessUpdate(forged, [forged.clientID]),
    })
    expect(await answer).toMatchObject({ code: 'permission/denied', doc: 'room' })
    await bob.client.ping()
    expect(bob.client.frames.slice(bobSaw).filter((f) => f.type === 'awareness')).toEqual([])
    expect(view.getStates().get(aliceAwareness.clientID)).toEqual({
      name: 'alice',
      user: 'alice',
      device: expect.any(String),
    })
    for (const a of [aliceAwareness, view, forged]) a.destroy()
  })
})

describe('content rules', () => {
  it('refuses anything but JSON values on the root map m in lane docs', async () => {
    const { mallory, refused } = await setup()
    const attempt = (fn: (doc: Y.Doc) => void) =>
      refused(mallory, DOC, mallory.device.fresh().change(DOC, fn), 'permission/denied')
    await attempt((doc) => doc.getText('t').insert(0, 'hi'))
    await attempt((doc) => doc.getMap('x').set('mallory1.9', record('mallory', 'mallory1')))
    await attempt((doc) => doc.getMap('m').set('mallory1.10', new Y.Map()))
    await attempt((doc) => doc.getMap('m').set('mallory1.11', new Uint8Array([1])))
    await attempt((doc) => doc.getMap('m').set('not-an-id', record('mallory', 'mallory1')))
    const { body: _body, ...noBody } = record('mallory', 'mallory1')
    await attempt((doc) => doc.getMap('m').set('mallory1.12', noBody))
    await attempt((doc) =>
      doc.getMap('m').set('mallory1.13', record('mallory', 'mallory1', { priority: 'vip' })),
    )
    await attempt((doc) =>
      doc.getMap('m').set('mallory1.14', record('mallory', 'mallory1', { replyTo: 'nope' })),
    )
    // A valid one still goes through.
    expect(await mallory.client.update(DOC, mallory.device.fresh().message(DOC, 'fine').update)).toBe('ack')
  })

  it('refuses receipts and devices entries other than the sender’s own', async () => {
    const { mallory, refused } = await setup()
    const receipt = { held: {}, read: {}, at: { wall: Date.now(), counter: 0 } }
    const m = () => mallory.device.fresh()
    await refused(
      mallory,
      RECEIPTS,
      m().change(RECEIPTS, (d) => d.getMap('r').set('alicedev1', receipt)),
      'permission/denied',
    )
    expect(
      await mallory.client.update(
        RECEIPTS,
        m().change(RECEIPTS, (d) => d.getMap('r').set('mallory1', receipt)),
      ),
    ).toBe('ack')
    await refused(
      mallory,
      'room/meta',
      m().change('room/meta', (d) => d.getMap('devices').set('mallory1', 'alice')),
      'permission/denied',
    )
    await refused(
      mallory,
      'room/meta',
      m().change('room/meta', (d) => d.getMap('devices').set('evildev9', 'mallory')),
      'permission/denied',
    )
  })

  it('refuses overwriting another user’s meta values, but lets anyone change pins', async () => {
    const { alice, mallory, message, replica, refused } = await setup()
    // Settings are an admin's (see meta-trust.test.ts): a member's write is refused outright.
    // A pin is keyed by its pinner's device and must match the stored message.
    const { body, ...header } = alice.device.doc(DOC).getMap('m').get(message.id) as Record<string, unknown>
    const settings = alice.device.change('room/meta', (d) => d.getMap('settings').set('periodMs', 604800000))
    await refused(alice, 'room/meta', settings, 'permission/denied')
    alice.device = alice.device.fresh()
    const pin = alice.device.change('room/meta', (d) =>
      d.getMap('pins').set(`${message.id}/alicedev1`, { header, body, stamp: header.stamp }),
    )
    expect(await alice.client.update('room/meta', pin)).toBe('ack')
    const meta = async (fn: (d: Y.Doc) => void) =>
      (await replica(mallory, 'room/meta')).change('room/meta', fn)
    await refused(
      mallory,
      'room/meta',
      await meta((d) => d.getMap('devices').delete('alicedev1')),
      'permission/denied',
    )
    // Retention belongs to its writer too; 'server' is the server's.
    await refused(
      mallory,
      'room/meta',
      await meta((d) => d.getMap('retention').set('server', Date.now())),
      'permission/denied',
    )
    expect(
      await mallory.client.update(
        'room/meta',
        await meta((d) => d.getMap('pins').delete(`${message.id}/alicedev1`)),
      ),
    ).toBe('ack')
  })

  it('refuses stamps beyond server time + 60 s with clock/skew', async () => {
    const { alice, message, refused } = await setup()
    const future = { stamp: { wall: Date.now() + 120_000, counter: 0 } }
    await refused(alice, DOC, alice.device.fresh().message(DOC, 'from tomorrow', future).update, 'clock/skew')
    const edit = { stamp: { wall: Date.now() + 120_000, counter: 0 }, body: 'late edit' }
    const update = alice.device
      .fresh()
      .change(CONTROL, (d) => d.getMap('c').set(`${message.id}/alicedev1`, edit))
    await refused(alice, CONTROL, update, 'clock/skew')
    // Within the drift is fine.
    const near = alice.device
      .fresh()
      .message(DOC, 'soon', { stamp: { wall: Date.now() + 30_000, counter: 0 } })
    expect(await alice.client.update(DOC, near.update)).toBe('ack')
  })

  it('refuses writes into a period in the future with clock/skew', async () => {
    const { alice, refused } = await setup()
    const future = laneDoc('room', 'normal', Date.now() + 30 * 24 * 60 * 60 * 1000)
    await refused(alice, future, alice.device.message(future, 'next month').update, 'clock/skew')
  })
})
