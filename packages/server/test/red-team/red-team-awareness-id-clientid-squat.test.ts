// Red team (claims 3/6): a clientID seen as someone's awareness id can be bound first as a struct
// clientID, locking that user's y-websocket doc out of writing the conversation.
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { Device, laneDoc, startServer, storedDoc, TestClient } from '../helpers.js'
import { RawY } from '../y-raw.js'

const registerAs = async (squat: boolean) => {
  const server = await startServer()
  const m = await TestClient.connect(server.url, 't-mallory', 'malldev1')
  await m.subscribe('room')
  expect(await m.update('room/meta', new Device('mallory', 'malldev1').register('room'))).toBe('ack')
  // alice's stock y-websocket app on room/meta: awareness id == its Y.Doc's clientID
  const X = 123456789
  const y = await RawY.open(server.url, 'room/meta', { token: 't-alice', device: 'alicedev1' })
  await y.barrier()
  const seen = m.later((f) => f.type === 'awareness')
  y.sendAwareness([{ client: X, clock: 1, state: { name: 'Alice' } }])
  await seen // mallory learns X from the relayed presence
  if (squat) {
    const d = new Y.Doc()
    d.clientID = X
    d.getMap('m').set('malldev1.1', {
      author: 'mallory',
      device: 'malldev1',
      stamp: { wall: Date.now(), counter: 0 },
      body: 'squat',
      priority: 'normal',
    })
    await m.update(laneDoc('room'), Y.encodeStateAsUpdate(d)) // before the fix: ack, X bound to mallory
  }
  const a = new Y.Doc()
  a.clientID = X
  a.getMap('devices').set('alicedev1', 'alice')
  y.sendUpdate(Y.encodeStateAsUpdate(a))
  await y.barrier()
  await server.idle()
  return (await storedDoc(server.storage, 'room/meta')).getMap('devices').get('alicedev1')
}

it('baseline: alice registers through /y/ under her doc clientID', async () => {
  expect(await registerAs(false)).toBe('alice')
})

it('mallory cannot bind the clientID alice announced as her awareness id', async () => {
  // before the fix: undefined — alice's writes under X refused for good (her Y.Doc keeps X)
  expect(await registerAs(true)).toBe('alice')
})
