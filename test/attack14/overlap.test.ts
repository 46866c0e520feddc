import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { policy, startServer, waitFor } from '../attack12/kit.js'
import { laneDoc, member, pinOf, refusalCode, storedDoc, type TestClient } from '../attack13/kit.js'

// The server stores and forwards only what it lacked of an update that overlaps content it holds.
// Attacked with raw frames: every subscriber must receive each struct exactly once, and the server
// must never ack what it did not store, nor accept another user's structs riding along.
const ROOM = 'room'

/** `client:clock` of every item clock in the update frames `observer` received for `doc`. */
const forwardedClocks = (observer: TestClient, doc: string): string[] => {
  const out: string[] = []
  for (const f of observer.frames)
    if ((f.type === 'update' || f.type === 'sync-step2') && f.doc === doc)
      for (const s of Y.decodeUpdate(f.update).structs)
        if (s instanceof Y.Item)
          for (let i = 0; i < s.length; i++) out.push(`${s.id.client}:${s.id.clock + i}`)
  return out
}
const deletesForwarded = (observer: TestClient, doc: string): number =>
  observer.frames.filter(
    (f) => f.type === 'update' && f.doc === doc && Y.decodeUpdate(f.update).ds.clients.size > 0,
  ).length
const dupes = (list: string[]) => list.filter((x, i) => list.indexOf(x) !== i)

const setup = async (limits: Parameters<typeof startServer>[1] = {}) => {
  const { server, storage } = await startServer(policy(), limits)
  const alice = await member(server.url, 't-alice', 'alice', 'alicedev1', ROOM)
  const bob = await member(server.url, 't-bob', 'bob', 'bobdev1', ROOM)
  const carol = await member(server.url, 't-carol', 'carol', 'caroldev1', ROOM)
  return { server, storage, alice, bob, carol }
}

/** Lets every frame sent so far be handled and forwarded. */
const settle = async (server: { idle(): Promise<void> }, ...clients: TestClient[]) => {
  await server.idle()
  for (const c of clients) await c.ping()
}

describe('updates overlapping what the server holds', () => {
  it('a resend that adds nothing is acked and forwarded to nobody', async () => {
    const { server, alice, bob } = await setup()
    const doc = laneDoc(ROOM)
    const m = alice.device.message(doc, { text: 'once' })
    expect(await alice.client.update(doc, m.update)).toBe('ack')
    await settle(server, bob.client)
    const seen = bob.client.frames.length
    expect(await alice.client.update(doc, m.update)).toBe('ack')
    expect(await alice.client.update(doc, Y.mergeUpdates([m.update, m.update]))).toBe('ack')
    await settle(server, bob.client)
    expect(bob.client.frames.slice(seen).filter((f) => f.type === 'update')).toEqual([])
  })

  it('partial overlaps (a suffix resent with new structs, a range from the middle) forward each struct once', async () => {
    const { server, storage, alice, bob } = await setup()
    const doc = laneDoc(ROOM)
    const ydoc = alice.device.doc(doc)
    const parts: Uint8Array[] = []
    for (let i = 0; i < 10; i++) parts.push(alice.device.message(doc, { text: `m${i}` }).update)
    // 0..4 stored, then 2..7 (overlap 2..4), then 5..9 merged with 0..1 (overlap 0..1, 5..7).
    expect(await alice.client.update(doc, Y.mergeUpdates(parts.slice(0, 5)))).toBe('ack')
    expect(await alice.client.update(doc, Y.mergeUpdates(parts.slice(2, 8)))).toBe('ack')
    expect(await alice.client.update(doc, Y.mergeUpdates([...parts.slice(5), ...parts.slice(0, 2)]))).toBe(
      'ack',
    )
    // A diff against a state vector in the middle of her range: 3..9.
    const sv = Y.encodeStateVector(ydoc)
    const mid = new Map(Y.decodeStateVector(sv))
    mid.set(ydoc.clientID, 3)
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, mid.size)
    for (const [client, clock] of mid) {
      encoding.writeVarUint(encoder, client)
      encoding.writeVarUint(encoder, clock)
    }
    expect(await alice.client.update(doc, Y.encodeStateAsUpdate(ydoc, encoding.toUint8Array(encoder)))).toBe(
      'ack',
    )
    await settle(server, bob.client)
    const clocks = forwardedClocks(bob.client, doc)
    expect(dupes(clocks)).toEqual([])
    expect(clocks).toHaveLength(10)
    expect([...(await storedDoc(storage, doc)).getMap('m').keys()].sort()).toEqual(
      [...ydoc.getMap('m').keys()].sort(),
    )
  })

  it("an update mixing the sender's new structs with another user's stored ones is refused, never acked", async () => {
    const { server, storage, alice, bob, carol } = await setup()
    const doc = laneDoc(ROOM)
    const b = bob.device.message(doc, { text: 'from bob' })
    expect(await bob.client.update(doc, b.update)).toBe('ack')
    Y.applyUpdate(alice.device.doc(doc), b.update) // Alice received Bob's message
    const a = alice.device.message(doc, { text: 'from alice' })
    await settle(server, carol.client)
    const seen = carol.client.frames.length
    const mixed = Y.encodeStateAsUpdate(alice.device.doc(doc)) // Bob's struct + Alice's new one
    const answer = await alice.client.update(doc, mixed)
    expect(refusalCode(answer)).toBe('permission/denied')
    await settle(server, carol.client)
    expect(carol.client.frames.slice(seen).filter((f) => f.type === 'update')).toEqual([])
    expect((await storedDoc(storage, doc)).getMap('m').has(a.id)).toBe(false)
    // Her own part alone is then taken.
    expect(await alice.client.update(doc, a.update)).toBe('ack')
  })

  it("structs of the sender's other device (same user) riding along are taken, forwarded once", async () => {
    const { server, storage, alice, carol } = await setup()
    const phone = await member(server.url, 't-alice', 'alice', 'alicedev2', ROOM)
    const doc = laneDoc(ROOM)
    const p = phone.device.message(doc, { text: 'from the phone' })
    expect(await phone.client.update(doc, p.update)).toBe('ack')
    Y.applyUpdate(alice.device.doc(doc), p.update)
    const a = alice.device.message(doc, { text: 'from the laptop' })
    const answer = await alice.client.update(doc, Y.encodeStateAsUpdate(alice.device.doc(doc)))
    await settle(server, carol.client)
    const stored = (await storedDoc(storage, doc)).getMap('m')
    // Her own user's content: taken, and stored before the ack.
    expect(answer).toBe('ack')
    expect(stored.has(a.id)).toBe(true)
    expect(dupes(forwardedClocks(carol.client, doc))).toEqual([])
    expect(forwardedClocks(carol.client, doc)).toHaveLength(2)
  })

  it("meta: Bob's stored device registration riding along with Alice's new pin is refused, never acked", async () => {
    const { server, storage, alice, bob, carol } = await setup()
    const doc = laneDoc(ROOM)
    const m = alice.device.message(doc, { text: 'pin me' })
    expect(await alice.client.update(doc, m.update)).toBe('ack')
    const record = alice.device.doc(doc).getMap('m').get(m.id) as Record<string, unknown>
    const meta = `${ROOM}/meta`
    const pinner = alice.device.fresh()
    Y.applyUpdate(pinner.doc(meta), Y.encodeStateAsUpdate(bob.device.doc(meta))) // Bob's registration
    const pin = pinner.change(meta, (d) =>
      d.getMap('pins').set(`${m.id}/alicedev1`, {
        header: (({ body: _b, ...h }) => h)(record),
        body: record.body,
        stamp: record.stamp,
      }),
    )
    await settle(server, carol.client)
    const seen = forwardedClocks(carol.client, meta).length
    const answer = await alice.client.update(
      meta,
      Y.mergeUpdates([Y.encodeStateAsUpdate(bob.device.doc(meta)), pin]),
    )
    expect(refusalCode(answer)).toBe('permission/denied')
    await settle(server, carol.client)
    expect(forwardedClocks(carol.client, meta).length).toBe(seen)
    expect([...(await storedDoc(storage, meta)).getMap('pins').keys()]).toEqual([])
    // The pin alone is taken: the refusal was for Bob's part.
    expect(await alice.client.update(meta, pin)).toBe('ack')
  })

  it("an overlap that adds nothing but carries another user's structs is refused, never acked", async () => {
    const { server, alice, bob, carol } = await setup()
    const doc = laneDoc(ROOM)
    const b = bob.device.message(doc, { text: 'from bob' })
    const a = alice.device.message(doc, { text: 'from alice' })
    expect(await bob.client.update(doc, b.update)).toBe('ack')
    expect(await alice.client.update(doc, a.update)).toBe('ack')
    await settle(server, carol.client)
    const seen = carol.client.frames.length
    expect(refusalCode(await alice.client.update(doc, Y.mergeUpdates([a.update, b.update])))).toBe(
      'permission/denied',
    )
    expect(refusalCode(await alice.client.update(doc, b.update))).toBe('permission/denied')
    await settle(server, carol.client)
    expect(carol.client.frames.slice(seen).filter((f) => f.type === 'update')).toEqual([])
  })

  it('a resent set merged with its own delete stores and forwards the delete, the set no second time', async () => {
    const { server, storage, alice, bob } = await setup()
    const doc = laneDoc(ROOM)
    const one = alice.device.message(doc, { text: 'kept' })
    const two = alice.device.message(doc, { text: 'deleted later' })
    expect(await alice.client.update(doc, Y.mergeUpdates([one.update, two.update]))).toBe('ack')
    const del = alice.device.change(doc, (d) => d.getMap('m').delete(two.id))
    const three = alice.device.message(doc, { text: 'new' })
    expect(await alice.client.update(doc, Y.mergeUpdates([one.update, two.update, del, three.update]))).toBe(
      'ack',
    )
    // Again, now wholly overlapping (delete included).
    expect(await alice.client.update(doc, Y.mergeUpdates([two.update, del]))).toBe('ack')
    await settle(server, bob.client)
    const stored = (await storedDoc(storage, doc)).getMap('m')
    expect([...stored.keys()].sort()).toEqual([one.id, three.id].sort())
    const clocks = forwardedClocks(bob.client, doc)
    expect(dupes(clocks)).toEqual([])
    expect(deletesForwarded(bob.client, doc)).toBe(1)
    // Bob's replica, built from what he was sent, matches the server's.
    const bobs = new Y.Doc()
    for (const f of bob.client.frames) if (f.type === 'update' && f.doc === doc) Y.applyUpdate(bobs, f.update)
    expect([...bobs.getMap('m').keys()].sort()).toEqual([one.id, three.id].sort())
  })

  it('meta: a resent device registration merged with a new pin forwards only the pin', async () => {
    const { server, storage, alice, bob } = await setup()
    const doc = laneDoc(ROOM)
    const m = alice.device.message(doc, { text: 'pin me' })
    expect(await alice.client.update(doc, m.update)).toBe('ack')
    const record = alice.device.doc(doc).getMap('m').get(m.id) as Record<string, unknown>
    const meta = `${ROOM}/meta`
    await settle(server, bob.client)
    const before = forwardedClocks(bob.client, meta).length
    const register = alice.device.register(ROOM) // same value again, a new struct of her meta doc
    const pin = pinOf(alice, ROOM, m.id, record)
    const first = Y.encodeStateAsUpdate(alice.device.doc(meta)) // her earlier registration too
    expect(await alice.client.update(meta, Y.mergeUpdates([first, register, pin]))).toBe('ack')
    expect(await alice.client.update(meta, Y.mergeUpdates([pin, register]))).toBe('ack')
    await settle(server, bob.client)
    const clocks = forwardedClocks(bob.client, meta)
    expect(dupes(clocks)).toEqual([])
    expect(clocks.length - before).toBe(2) // the new registration struct and the pin
    const stored = await storedDoc(storage, meta)
    expect([...stored.getMap('pins').keys()]).toEqual([`${m.id}/alicedev1`])
  })

  // Was FINDING (attack14 #4), fixed: the server acked an update whose clock 0 is another message
  // than the one it holds at that (clientID, clock), stored only its clock 1, and forwarded that:
  // `second` was acked (its sender marked it sent) but stored nowhere. It takes a reused clientID of
  // the sender's own user (a second session of a device, a restored doc). An overlap whose entries
  // differ from what is stored at the same IDs is now refused like another user's.
  it('structs at IDs the server holds but with other content (a reused clientID) are never acked as stored', async () => {
    const { server, storage, alice, bob } = await setup()
    const doc = laneDoc(ROOM)
    const first = alice.device.message(doc, { text: 'first session' })
    expect(await alice.client.update(doc, first.update)).toBe('ack')
    // A second session of the same device whose doc drew the same clientID: its clock 0 is another
    // message, its clock 1 a third. The server holds clock 0 already (as `first`).
    const clash = new Y.Doc()
    clash.clientID = alice.device.doc(doc).clientID
    const twin = alice.device.fresh()
    twin.docs.set(doc, clash)
    const second = twin.message(doc, { text: 'second session, same clientID' })
    const third = twin.message(doc, { text: 'second session, next clock' })
    const answer = await alice.client.update(doc, Y.encodeStateAsUpdate(clash))
    await settle(server, bob.client)
    const stored = (await storedDoc(storage, doc)).getMap('m')
    // Acked means stored: an ack here with `second` missing tells the device it is sent while it
    // is lost.
    if (answer === 'ack') expect([stored.has(second.id), stored.has(third.id)]).toEqual([true, true])
    else expect(stored.has(third.id)).toBe(false)
    expect(stored.get(first.id)).toBeDefined()
  })

  it('a y-websocket client at /y/ resending an overlapping update: forwarded once, stored', async () => {
    const { server, storage, alice, bob } = await setup()
    const doc = laneDoc(ROOM)
    const one = alice.device.message(doc, { text: 'over tidings' })
    expect(await alice.client.update(doc, one.update)).toBe('ack')
    const two = alice.device.message(doc, { text: 'over y-websocket' })
    await settle(server, bob.client)
    const ws = new WebSocket(`${server.url}/y/${doc}?token=t-alice&device=alicedev1`)
    ws.binaryType = 'nodebuffer'
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    const send = (update: Uint8Array) => {
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, 0) // messageSync
      syncProtocol.writeUpdate(encoder, update)
      ws.send(encoding.toUint8Array(encoder))
    }
    send(Y.mergeUpdates([one.update, two.update]))
    send(Y.mergeUpdates([one.update, two.update]))
    await waitFor(() => forwardedClocks(bob.client, doc).length >= 2, 'the new message forwarded to bob')
    await settle(server, bob.client)
    ws.close()
    expect(dupes(forwardedClocks(bob.client, doc))).toEqual([])
    expect(forwardedClocks(bob.client, doc)).toHaveLength(2)
    expect((await storedDoc(storage, doc)).getMap('m').has(two.id)).toBe(true)
  })

  it('an overlap with a gap (3..4 held, 7..9 new, 5..6 missing) is not acked until the gap is filled, then once', async () => {
    const { server, storage, alice, bob } = await setup({ dependencyWaitMs: 2000 })
    const doc = laneDoc(ROOM)
    const parts: Uint8Array[] = []
    for (let i = 0; i < 10; i++) parts.push(alice.device.message(doc, { text: `g${i}` }).update)
    expect(await alice.client.update(doc, Y.mergeUpdates(parts.slice(0, 5)))).toBe('ack')
    const gap = Y.mergeUpdates([parts[3]!, parts[4]!, ...parts.slice(7)])
    const answers: string[] = []
    const gapAnswer = alice.client.update(doc, gap).then((a) => answers.push(`gap ${refusalCode(a)}`))
    await settle(server, bob.client)
    expect(answers).toEqual([]) // nothing acked while 5..6 are missing
    const fill = alice.client
      .update(doc, Y.mergeUpdates(parts.slice(4, 7)))
      .then((a) => answers.push(`fill ${refusalCode(a)}`))
    await Promise.all([gapAnswer, fill])
    expect(answers.sort()).toEqual(['fill ack', 'gap ack'])
    await settle(server, bob.client)
    const clocks = forwardedClocks(bob.client, doc)
    expect(dupes(clocks)).toEqual([])
    expect(clocks).toHaveLength(10)
    expect((await storedDoc(storage, doc)).getMap('m').size).toBe(10)
  })

  it('an overlap with a gap never filled is refused, and nothing of it is stored or forwarded', async () => {
    const { server, storage, alice, bob } = await setup({ dependencyWaitMs: 300 })
    const doc = laneDoc(ROOM)
    const parts: Uint8Array[] = []
    for (let i = 0; i < 8; i++) parts.push(alice.device.message(doc, { text: `g${i}` }).update)
    expect(await alice.client.update(doc, Y.mergeUpdates(parts.slice(0, 4)))).toBe('ack')
    await settle(server, bob.client)
    const before = forwardedClocks(bob.client, doc).length
    const answer = await alice.client.update(
      doc,
      Y.mergeUpdates([parts[2]!, parts[3]!, parts[6]!, parts[7]!]),
    )
    expect(answer).not.toBe('ack')
    await settle(server, bob.client)
    expect(forwardedClocks(bob.client, doc).length).toBe(before)
    expect((await storedDoc(storage, doc)).getMap('m').size).toBe(4)
  })

  it('a sync-step2 answer overlapping an update in flight: each struct forwarded once', async () => {
    const { server, alice, bob } = await setup()
    const doc = laneDoc(ROOM)
    const one = alice.device.message(doc, { text: 'in flight' })
    const two = alice.device.message(doc, { text: 'only in the answer' })
    const serverStep1 = alice.client.later((f) => f.type === 'sync-step1' && f.doc === doc)
    alice.client.send({ type: 'sync-step1', doc, stateVector: new Uint8Array([0]) })
    await serverStep1
    const acked = alice.client.update(doc, one.update)
    alice.client.send({ type: 'sync-step2', doc, update: Y.mergeUpdates([one.update, two.update]) })
    expect(await acked).toBe('ack')
    await settle(server, bob.client)
    const clocks = forwardedClocks(bob.client, doc)
    expect(dupes(clocks)).toEqual([])
    expect(clocks).toHaveLength(2)
    expect(alice.client.errors()).toEqual([])
  })

  // Was FINDING (attack14 #6), resolved in docs/protocol.md: on /y/ the same bytes the Tidings
  // protocol refuses (Bob's stored struct riding along with Alice's new message) are taken: the
  // server skips Bob's part and stores and forwards Alice's. A stock client may relay what another
  // provider gave it, and /y/ has no ack that could report Bob's part as stored; the refusal on '/'
  // exists for its ack. This test pins what the docs now say: Alice's part once, Bob's never again.
  it("/y/: an update mixing another user's stored structs with the sender's new one stores only the new", async () => {
    const { server, storage, alice, bob, carol } = await setup()
    const doc = laneDoc(ROOM)
    const b = bob.device.message(doc, { text: 'from bob' })
    expect(await bob.client.update(doc, b.update)).toBe('ack')
    Y.applyUpdate(alice.device.doc(doc), b.update)
    const a = alice.device.message(doc, { text: 'from alice over /y/' })
    await settle(server, carol.client)
    const seen = forwardedClocks(carol.client, doc).length
    const ws = new WebSocket(`${server.url}/y/${doc}?token=t-alice&device=alicedev1`)
    ws.on('error', () => undefined)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, 0)
    syncProtocol.writeUpdate(encoder, Y.encodeStateAsUpdate(alice.device.doc(doc)))
    ws.send(encoding.toUint8Array(encoder))
    // A later, clean update over the same socket shows the first one was handled.
    const c = alice.device.fresh().message(doc, { text: 'clean' })
    const clean = encoding.createEncoder()
    encoding.writeVarUint(clean, 0)
    syncProtocol.writeUpdate(clean, c.update)
    ws.send(encoding.toUint8Array(clean))
    await waitFor(() => forwardedClocks(carol.client, doc).length > seen, 'the clean update forwarded')
    await settle(server, carol.client)
    ws.close()
    const stored = (await storedDoc(storage, doc)).getMap('m')
    expect([stored.has(a.id), stored.has(b.id), stored.has(c.id)]).toEqual([true, true, true])
    // Alice's message and the clean one, each once; Bob's is not forwarded a second time.
    expect(forwardedClocks(carol.client, doc).length - seen).toBe(2)
    expect(dupes(forwardedClocks(carol.client, doc))).toEqual([])
  })
})
