// Red team (claim 5): GC structs under fresh clientIDs are accepted, acked, stored, relayed.
import * as encoding from 'lib0/encoding'
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { Device, laneDoc, startServer, storedDoc, TestClient } from '../helpers.js'

/** A hand-made V1 update: one GC struct (length 1) per clientID, empty delete set. */
const gcUpdate = (clients: number[]) => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, clients.length)
  for (const client of clients) {
    encoding.writeVarUint(e, 1) // structs of this client
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, 0) // clock
    encoding.writeUint8(e, 0) // GC struct
    encoding.writeVarUint(e, 1) // length
  }
  encoding.writeVarUint(e, 0)
  return encoding.toUint8Array(e)
}

it('a member cannot make the server bind thousands of clientIDs with GC structs', async () => {
  const server = await startServer()
  const m = await TestClient.connect(server.url, 't-mallory', 'malldev1')
  await m.subscribe('room')
  expect(await m.update('room/meta', new Device('mallory', 'malldev1').register('room'))).toBe('ack')
  const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
  await bob.subscribe('room')
  // meta (never dropped), the current lane doc, and a control doc of period 100 (1971, created on the fly)
  for (const doc of ['room/meta', laneDoc('room'), 'room/control/100']) {
    const clients = Array.from({ length: 3000 }, (_, i) => 5_000_000 + i)
    const answer = await m.update(doc, gcUpdate(clients))
    await server.idle()
    await bob.ping()
    const entries = Y.decodeStateVector(Y.encodeStateVector(await storedDoc(server.storage, doc))).size
    // before the fix: 'ack', 3000+ state-vector entries stored, and the update relayed to bob
    expect(answer).not.toBe('ack')
    expect(entries).toBeLessThan(10)
    expect(bob.updatesFor(doc)).toHaveLength(0)
  }
})

/** Same, with Items of ContentDeleted (a value deleted on arrival) under the member's own keys. */
const deletedItems = (clients: number[], key: (i: number) => string) => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, clients.length)
  clients.forEach((client, i) => {
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, 0)
    encoding.writeUint8(e, 1 | 0x20) // ContentDeleted, parentSub, no origins
    encoding.writeVarUint(e, 1)
    encoding.writeVarString(e, 'm')
    encoding.writeVarString(e, key(i))
    encoding.writeVarUint(e, 1)
  })
  encoding.writeVarUint(e, 0)
  return encoding.toUint8Array(e)
}

it('a member cannot bind thousands of clientIDs with deleted-on-arrival items or one-key writes', async () => {
  const server = await startServer()
  const m = await TestClient.connect(server.url, 't-mallory', 'malldev1')
  await m.subscribe('room')
  expect(await m.update('room/meta', new Device('mallory', 'malldev1').register('room'))).toBe('ack')
  const doc = laneDoc('room')
  const clients = Array.from({ length: 3000 }, (_, i) => 1_000_000 + i)
  const a = await m.update(
    doc,
    deletedItems(clients, (i) => `malldev1.${i + 1}`),
  )
  // valid messages, each under its own clientID, merged into one update
  const updates: Uint8Array[] = []
  for (let i = 1; i <= 2000; i++) {
    const d = new Y.Doc()
    d.clientID = 7_000_000 + i
    d.getMap('m').set(`malldev1.${5000 + i}`, {
      author: 'mallory',
      device: 'malldev1',
      stamp: { wall: Date.now(), counter: 0 },
      body: 'x',
      priority: 'normal',
    })
    updates.push(Y.encodeStateAsUpdate(d))
  }
  const b = await m.update(doc, Y.mergeUpdates(updates))
  await server.idle()
  const entries = Y.decodeStateVector(Y.encodeStateVector(await storedDoc(server.storage, doc))).size
  // Before the caps: both 'ack', 5000 state-vector entries in the doc.
  expect([a === 'ack', b === 'ack']).not.toEqual([true, true])
  expect(entries).toBeLessThan(100)
})
