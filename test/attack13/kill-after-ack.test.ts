// Nothing lost, nothing twice: an ack means the commit is in PostgreSQL, whatever happens to the
// process right after it, and a reader on another process gets each update once.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  acked,
  Device,
  isolation,
  laneDoc,
  member,
  missingBackends,
  sharedStorage,
  spawnNode,
  startNode,
  storedDoc,
  TestClient,
  until,
} from './kit.js'

const skip = await missingBackends('attack13 kill after ack')

/** Every (client, clock) of the structs in `updates` that more than one of them carries. */
const repeated = (updates: readonly Uint8Array[]): string[] => {
  const seen = new Map<string, number>()
  for (const update of updates) {
    for (const struct of Y.decodeUpdate(update).structs) {
      for (let i = 0; i < struct.length; i++) {
        const key = `${struct.id.client}:${struct.id.clock + i}`
        seen.set(key, (seen.get(key) ?? 0) + 1)
      }
    }
  }
  return [...seen].filter(([, n]) => n > 1).map(([key]) => key)
}

describe.skipIf(skip !== undefined)('acks across a kill -9, and relays counted', () => {
  it('holds in PostgreSQL every update acked by a process killed the instant it acked', async () => {
    const isolated = isolation()
    const storage = sharedStorage(isolated)
    const doc = laneDoc('room')
    for (let round = 0; round < 3; round++) {
      const node = await spawnNode(isolated)
      const client = await TestClient.connect(node.url, 't-alice', 'alicedev1')
      await client.subscribe('room')
      const device = new Device('alice', 'alicedev1')
      device.seq = round * 1000
      if (round === 0) expect(await client.update('room/meta', device.register('room'))).toBe('ack')
      // 30 messages pipelined; kill -9 as soon as the 5th ack arrives.
      const sent = Array.from({ length: 30 }, (_, i) => device.message(doc, `r${round} m${i}`))
      const acks = new Set<number>()
      const killed = new Promise<void>((resolve) => {
        client.ws.on('message', () => {
          for (const frame of client.frames)
            if (frame.type === 'ack') for (const ref of frame.refs) acks.add(ref)
          if (acks.size >= 5 && node.pid) {
            node.kill()
            resolve()
          }
        })
      })
      for (const [i, message] of sent.entries()) {
        client.send({ type: 'update', doc, ref: round * 100 + i + 1, update: message.update })
      }
      await killed
      await node.exited
      // Every ack that reached the client before the socket died.
      const ackedIds = sent.filter((_, i) => acks.has(round * 100 + i + 1)).map((m) => m.id)
      expect(ackedIds.length).toBeGreaterThanOrEqual(5)
      const stored = (await storedDoc(storage, doc)).getMap('m')
      expect(ackedIds.filter((id) => !stored.has(id))).toEqual([])
    }
  })

  it('relays each struct once to a reader on another process, across catch-up rounds and a writer’s failover', async () => {
    const isolated = isolation()
    const [a, b] = [await startNode(isolated), await startNode(isolated)]
    const doc = laneDoc('room')
    const alice = await member(a.url, 't-alice', 'alice', 'alicedev1')
    const bob = await member(b.url, 't-bob', 'bob', 'bobdev01')
    await acked(alice, doc, alice.device.message(doc, 'first').update)
    const replica = new Y.Doc()
    await bob.client.syncStep1(doc, replica)
    const from = bob.client.frames.length
    // Writes over more than two catch-up periods (2 s), so relays and catch-ups overlap.
    const written: Uint8Array[] = []
    for (let i = 0; i < 25; i++) {
      const message = alice.device.message(doc, `m${i}`)
      written.push(message.update)
      await acked(alice, doc, message.update)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    // Alice fails over to b and resends the last ten, as an outbox after a reconnect would.
    alice.client.ws.terminate()
    const again = await TestClient.connect(b.url, 't-alice', 'alicedev1')
    await again.subscribe('room')
    for (const update of written.slice(-10)) expect(await again.update(doc, update)).toBe('ack')
    const last = alice.device.message(doc, 'last')
    await acked({ client: again }, doc, last.update)
    const relayed = () =>
      bob.client.frames
        .slice(from)
        .filter((f) => f.type === 'update' && f.doc === doc)
        .map((f) => (f as { update: Uint8Array }).update)
    await until(() => {
      for (const update of relayed()) Y.applyUpdate(replica, update)
      return replica.getMap('m').has(last.id)
    }, 'every message relayed to bob')
    // Past another catch-up period, for late repeats.
    await new Promise((resolve) => setTimeout(resolve, 2500))
    const updates = relayed()
    for (const update of updates) Y.applyUpdate(replica, update)
    expect(replica.getMap('m').size).toBe(27)
    expect(repeated(updates)).toEqual([])
  })
})
