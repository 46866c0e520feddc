import type { StorageAdapter } from '@tidings/core'
import type { Frame, FrameOf } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { Device, dumpStorage, laneDoc, TestClient } from './helpers.js'
import { deleteOnly } from './raw-updates.js'

export const DOC = laneDoc('room')
export const CONTROL = `room/control/${DOC.split('/')[2]}`

/** Where the parties of the trust tests connect: one server, or the processes of a cluster. */
export interface World {
  /** The server a party connects to: `alice`, `bob`, `mallory`, `reader` or `squatter`. */
  url(party: string): string
  /** Resolves once every server has committed what it was sent. */
  idle(): Promise<void>
  /** Storage to compare before and after a refusal. */
  readonly storage: StorageAdapter
  /**
   * Resolves once `observer` has received everything the servers committed and relayed so far
   * (across processes, through a sentinel message that the fan-out delivers after them).
   */
  drained(observer: TestClient): Promise<void>
  /** True for the frames of the sentinel `drained` sends. */
  isSentinel(frame: Frame): boolean
}

/** One server: draining is committing, then a round trip. */
export const singleServer = (server: {
  url: string
  idle(): Promise<void>
  storage: StorageAdapter
}): World => ({
  url: () => server.url,
  idle: () => server.idle(),
  storage: server.storage,
  drained: async (observer) => {
    await server.idle()
    await observer.ping()
  },
  isSentinel: () => false,
})

/** Alice and Bob registered, Alice has one message; Mallory and a reader are subscribed too. */
export const partiesSetup = async (world: World) => {
  const connect = async (token: string, user: string, device: string) => {
    const client = await TestClient.connect(world.url(user), token, device)
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
  await world.idle()

  /** A fresh device of `who` that has synced `doc` from the server first (sees what the server has). */
  const replica = async (who: { client: TestClient; device: Device }, doc: string) => {
    const device = who.device.fresh()
    await who.client.syncStep1(doc, device.doc(doc))
    return device
  }

  /** Sends an update that must be refused with `code`: storage and other clients see nothing. */
  const refused = async (who: { client: TestClient }, doc: string, update: Uint8Array, code: string) => {
    await world.drained(bob.client)
    const before = await dumpStorage(world.storage, 'room')
    const bobSaw = bob.client.frames.length
    const answer = await who.client.update(doc, update)
    expect(answer, `expected ${code}`).toMatchObject({ code, doc })
    await world.idle()
    expect(await dumpStorage(world.storage, 'room')).toBe(before)
    await world.drained(bob.client)
    if (who !== bob) {
      expect(
        bob.client.frames
          .slice(bobSaw)
          .filter((f) => (f.type === 'update' || f.type === 'manifest') && !world.isSentinel(f)),
      ).toEqual([])
    }
    return answer as FrameOf<'error'>
  }
  return { world, alice, bob, mallory, reader, message, replica, refused }
}

export const record = (author: string, device: string, extra: Record<string, unknown> = {}) => ({
  author,
  device,
  stamp: { wall: Date.now(), counter: 0 },
  body: 'x',
  priority: 'normal',
  ...extra,
})

export const impersonationSuite = (name: string, world: () => Promise<World>): void => {
  const setup = async () => partiesSetup(await world())
  describe(name, () => {
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
      const { world, bob } = await setup()
      // A device belongs to the user who used it first: the squatter does not get in at all.
      const squatter = await TestClient.open(world.url('squatter'))
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
}
