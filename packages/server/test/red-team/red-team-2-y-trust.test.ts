// Red team 2 (trust): the Tidings protocol's refusals, tried through /y/ on a conversation's docs
// by a stock-protocol peer: a member writing retention or settings, a reader registering a device,
// a member without ?device= writing a receipt for alice's device or registering a device of its own.
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { Device, laneDoc, startServer, storedDoc, TestClient } from '../helpers.js'
import { RawY } from '../y-raw.js'

const write = async (
  server: { url: string; idle(): Promise<void> },
  doc: string,
  params: Record<string, string>,
  fn: (d: Y.Doc) => void,
) => {
  const y = await RawY.open(server.url, doc, params)
  const d = new Y.Doc()
  Y.applyUpdate(d, await y.barrier())
  let update: Uint8Array = new Uint8Array()
  d.on('update', (u: Uint8Array) => {
    update = u
  })
  d.transact(() => fn(d))
  y.sendUpdate(update)
  await y.barrier()
  await server.idle()
  y.ws.close()
}

it('/y/ peers cannot write what the Tidings protocol refuses them', async () => {
  const server = await startServer()
  const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
  await alice.subscribe('room')
  const a = new Device('alice', 'alicedev1')
  expect(await alice.update('room/meta', a.register('room'))).toBe('ack')
  const mallory = await TestClient.connect(server.url, 't-mallory', 'malldev1')
  await mallory.subscribe('room')
  expect(await mallory.update('room/meta', new Device('mallory', 'malldev1').register('room'))).toBe('ack')

  // A member through /y/ with its own device: retention and settings are admins' only.
  await write(server, 'room/meta', { token: 't-mallory', device: 'malldev1' }, (d) => {
    d.getMap('retention').set('malldev1', Date.now() - 1000)
  })
  await write(server, 'room/meta', { token: 't-mallory', device: 'malldev1' }, (d) => {
    d.getMap('settings').set('periodMs', 1000)
  })
  // A reader registers a device through /y/.
  await write(server, 'room/meta', { token: 't-reader', device: 'readdev1' }, (d) => {
    d.getMap('devices').set('readdev1', 'reader')
  })
  // A member without ?device= registers a device, and writes alice's receipt.
  await write(server, 'room/meta', { token: 't-mallory' }, (d) => {
    d.getMap('devices').set('malldev9', 'mallory')
  })
  const receipts = laneDoc('room', 'receipts')
  await write(server, receipts, { token: 't-mallory' }, (d) => {
    d.getMap('r').set('alicedev1', { normal: [[0, 1]] })
  })
  // Without ?device=, a message under alice's device key.
  const lane = laneDoc('room')
  await write(server, lane, { token: 't-mallory' }, (d) => {
    d.getMap('m').set('alicedev1.77', {
      author: 'alice',
      device: 'alicedev1',
      stamp: { wall: Date.now(), counter: 0 },
      body: 'forged',
      priority: 'normal',
    })
  })

  // Control: the same helper does write what is allowed (the admin registers its own device).
  await write(server, 'room/meta', { token: 't-admin', device: 'admdev01' }, (d) => {
    d.getMap('devices').set('admdev01', 'admin')
  })

  const meta = await storedDoc(server.storage, 'room/meta')
  expect(meta.getMap('retention').toJSON()).toEqual({})
  expect(meta.getMap('settings').toJSON()).toEqual({})
  expect(meta.getMap('devices').toJSON()).toEqual({
    alicedev1: 'alice',
    malldev1: 'mallory',
    admdev01: 'admin',
  })
  expect((await storedDoc(server.storage, receipts)).getMap('r').toJSON()).toEqual({})
  expect((await storedDoc(server.storage, lane)).getMap('m').toJSON()).toEqual({})
})
