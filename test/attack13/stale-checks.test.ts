// Checks made on one process right after another process committed what they depend on: the
// checking process has not heard of it through Redis yet (no wait between the two), so only the
// catch-up from PostgreSQL before the check can give the single server's answer.
import { describe, expect, it } from 'vitest'
import {
  acked,
  DAY,
  isolation,
  laneDoc,
  member,
  missingBackends,
  pinOf,
  refusalCode,
  sharedStorage,
  startNode,
  until,
} from './kit.js'

const skip = await missingBackends('attack13 stale checks')
const ROUNDS = 6

describe.skipIf(skip !== undefined)('a check on one process right after a commit on another', () => {
  it('refuses a pin of a message its author deleted through the other process an instant before', async () => {
    const isolated = isolation()
    const [a, b] = [await startNode(isolated), await startNode(isolated)]
    const alice = await member(a.url, 't-alice', 'alice', 'alicedev1')
    const mallory = await member(b.url, 't-mallory', 'mallory', 'mallory1')
    const doc = laneDoc('room')
    const answers: string[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const message = alice.device.message(doc, `secret ${round}`)
      const record = alice.device.doc(doc).getMap('m').get(message.id) as Record<string, unknown>
      const seen = mallory.client.later((f) => f.type === 'update' && f.doc === doc)
      await acked(alice, doc, message.update)
      await seen // b holds the message: a pin of it would be fine now
      await acked(
        alice,
        doc,
        alice.device.change(doc, (d) => d.getMap('m').delete(message.id)),
      )
      // At once, through b: the pin of the message the author just deleted.
      answers.push(
        refusalCode(await mallory.client.update('room/meta', pinOf(mallory, 'room', message.id, record))),
      )
    }
    expect(answers).toEqual(Array(ROUNDS).fill('permission/denied'))
  })

  /** Alice writes an old period through b, then an admin moves retention past it through a. */
  const retire = async (round: number) => {
    const isolated = isolation()
    const a = await startNode(isolated)
    const b = await startNode(isolated)
    const room = `ret${round}`
    const admin = await member(a.url, 't-admin', 'admin', `admin${round}`, room)
    const alice = await member(b.url, 't-alice', 'alice', `alice${round}`, room)
    const old = laneDoc(room, 'normal', Date.now() - 30 * DAY)
    const stamp = (days: number) => ({ stamp: { wall: Date.now() - days * DAY, counter: 0 } })
    await acked(alice, old, alice.device.message(old, 'old', stamp(30)).update)
    const raise = admin.device.change(`${room}/meta`, (d) =>
      d.getMap('retention').set(`admin${round}`, Date.now() - 10 * DAY),
    )
    await acked(admin, `${room}/meta`, raise)
    const late = alice.device.message(old, 'late', stamp(29)).update
    return {
      old,
      nodes: [a, b],
      storage: sharedStorage(isolated),
      answer: refusalCode(await alice.client.update(old, late)),
    }
  }

  it('refuses a write into a period an admin just retired through the other process', async () => {
    const answers: string[] = []
    for (let round = 0; round < ROUNDS; round++) answers.push((await retire(round)).answer)
    expect(answers).toEqual(Array(ROUNDS).fill('retention/expired'))
  })

  // FINDING (attack13 #2): the retention move is acked on process a, the late write is refused on
  // b, yet in some rounds the retired period's doc keeps its row in PostgreSQL (8 s after, and
  // still listed): a retired message stays stored and served. With a and b one process, never.
  it('drops the retired period from storage when another process wrote it', async () => {
    for (let round = 0; round < 4 * ROUNDS; round++) {
      const { old, nodes, storage } = await retire(round)
      await until(async () => (await storage.load(old)).length === 0, `${old} dropped`)
      // Each round's nodes hold PostgreSQL connections: 24 rounds of them exceed max_connections.
      for (const node of nodes) await node.close()
      for (const handle of [...nodes.map((node) => node.storage), storage]) await handle.close()
    }
  })

  // FINDING (attack13 #1): a write into an old period that races, on another process, the admin's
  // retention move past that period is acked, and the period doc (old and late message) stays in
  // PostgreSQL and in listDocs below retainedFrom. The drop locks only meta and the manifest, not
  // the docs it drops, so a write checked before the move can commit after the drop; and the drop
  // only covers the docs the moving process knows in memory (see #2). One process never ends so.
  it('leaves nothing of a retired period when the retention move and a write into it race on two processes', async () => {
    const isolated = isolation()
    // Each round adds a connection of alice and of the admin: more rounds than the default per user.
    const roomy = { limits: { maxConnectionsPerUser: 8 * ROUNDS } }
    const [a, b] = [await startNode(isolated, roomy), await startNode(isolated, roomy)]
    const storage = sharedStorage(isolated)
    // Until the first round that leaves rows behind (it usually comes within a few).
    for (let round = 0; round < 4 * ROUNDS; round++) {
      const room = `race${round}`
      const admin = await member(a.url, 't-admin', 'admin', `admin${round}`, room)
      const alice = await member(b.url, 't-alice', 'alice', `alice${round}`, room)
      const old = laneDoc(room, 'normal', Date.now() - 30 * DAY)
      const stamp = (days: number) => ({ stamp: { wall: Date.now() - days * DAY, counter: 0 } })
      await acked(alice, old, alice.device.message(old, 'old', stamp(30)).update)
      const raise = admin.device.change(`${room}/meta`, (d) =>
        d.getMap('retention').set(`admin${round}`, Date.now() - 10 * DAY),
      )
      const late = alice.device.message(old, 'late', stamp(29)).update
      const [moved, wrote] = await Promise.all([
        admin.client.update(`${room}/meta`, raise),
        alice.client.update(old, late),
      ])
      expect(refusalCode(moved)).toBe('ack')
      expect(['ack', 'retention/expired']).toContain(refusalCode(wrote))
      await until(
        async () => {
          await a.idle()
          await b.idle()
          return (await storage.load(old)).length === 0
        },
        `${old} emptied after the race (the write was ${refusalCode(wrote)})`,
        5000,
      )
    }
  })

  it('refuses structs under a clientID another user bound through the other process an instant before', async () => {
    const isolated = isolation()
    const [a, b] = [await startNode(isolated), await startNode(isolated)]
    const alice = await member(a.url, 't-alice', 'alice', 'alicedev1')
    const mallory = await member(b.url, 't-mallory', 'mallory', 'mallory1')
    const answers: string[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const lane = laneDoc('room', round % 2 === 0 ? 'normal' : 'low')
      const other = laneDoc('room', round % 2 === 0 ? 'high' : 'urgent')
      const fresh = alice.device.fresh()
      const message = fresh.message(lane, `bound ${round}`)
      await acked(alice, lane, message.update)
      // At once through b, in another doc of the conversation: mallory's message under alice's clientID.
      const forged = mallory.device.fresh()
      forged.doc(other).clientID = fresh.doc(lane).clientID
      answers.push(refusalCode(await mallory.client.update(other, forged.message(other, 'mine').update)))
    }
    expect(answers).toEqual(Array(ROUNDS).fill('permission/denied'))
  })
})
