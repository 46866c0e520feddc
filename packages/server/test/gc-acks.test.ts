import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { bindingKey } from '../src/bindings.js'
import { Device, laneDoc, startServer, storedDoc, TestClient } from './helpers.js'
import { gcStructs } from './raw-updates.js'

/** A message update written by `device` under a chosen clientID, as a session that drew it would. */
const messageAs = (device: Device, client: number, doc: string, body: string) => {
  const fresh = device.fresh()
  fresh.doc(doc).clientID = client
  return fresh.message(doc, body)
}

describe('GC structs and false acks', () => {
  it('refuses GC structs under 9,999 fresh clientIDs and binds none of them', async () => {
    const server = await startServer()
    const mallory = await TestClient.connect(server.url, 't-mallory', 'mallorydev1')
    await mallory.subscribe('room')
    const clients = Array.from({ length: 9_999 }, (_, i) => 1_000_000 + i)
    const answer = await mallory.update(laneDoc('room'), gcStructs(clients))
    expect(answer).toMatchObject({ code: 'protocol/malformed' })
    for (const client of [clients[0]!, clients[5_000]!, clients[9_998]!]) {
      expect(await server.storage.getMeta(bindingKey('room', client))).toBeUndefined()
    }
    expect(await server.storage.listDocs('room')).toHaveLength(0)
  })

  it("never acks an update whose clientID range holds another user's content, and still acks a resend", async () => {
    const server = await startServer()
    const doc = laneDoc('room')
    const mallory = await TestClient.connect(server.url, 't-mallory', 'mallorydev1')
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await mallory.subscribe('room')
    await alice.subscribe('room')
    expect(await mallory.update('room/meta', new Device('mallory', 'mallorydev1').register('room'))).toBe(
      'ack',
    )
    expect(await alice.update('room/meta', new Device('alice', 'alicedev1').register('room'))).toBe('ack')
    const clientId = 424242
    const squat = messageAs(new Device('mallory', 'mallorydev1'), clientId, doc, 'first under this clientID')
    expect(await mallory.update(doc, squat.update)).toBe('ack')
    // Alice's session drew the same clientID: her first struct has the same (client, clock).
    const victim = messageAs(new Device('alice', 'alicedev1'), clientId, doc, 'hello')
    const answer = await alice.update(doc, victim.update)
    expect(answer).not.toBe('ack')
    expect(answer).toMatchObject({ code: 'permission/denied' })
    expect((await storedDoc(server.storage, doc)).getMap('m').has(victim.id)).toBe(false)
    // A resend of one's own stored update is a no-op, and is acked: the outbox must clear.
    const own = new Device('alice', 'alicedev1').message(doc, 'mine')
    expect(await alice.update(doc, own.update)).toBe('ack')
    expect(await alice.update(doc, own.update)).toBe('ack')
    expect(Y.decodeUpdate(own.update).structs).toHaveLength(1)
  })
})
