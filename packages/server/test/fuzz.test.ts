import { memoryStorage, type StorageAdapter, type WriteBatch } from '@tidings/core'
import { encodeFrame, type Frame } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import * as Y from 'yjs'
import { Device, dumpStorage, laneDoc, startServer, storedDoc, TestClient } from './helpers.js'
import { deleteOnly } from './raw-updates.js'

/** Seeded PRNG (mulberry32): the same seed replays the same frames. */
const prng = (seed: number) => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256))
  return { next, int, pick, bytes }
}
type Rng = ReturnType<typeof prng>

const SEED = Number(process.env.TIDINGS_FUZZ_SEED ?? 20240611)
const DOC = laneDoc('room')
const CONTROL = DOC.replace('/normal/', '/control/')
const RECEIPTS = DOC.replace('/normal/', '/receipts/')
const DOCS = [DOC, CONTROL, RECEIPTS, 'room/meta', laneDoc('room', 'urgent'), 'room/low/0', 'other/meta', 'x']

/** Mutations of a valid frame or payload: flips, truncation, growth, huge varints, splices. */
const mutate = (rng: Rng, input: Uint8Array): Uint8Array => {
  let out = input.slice()
  const rounds = 1 + rng.int(3)
  for (let i = 0; i < rounds; i++) {
    switch (rng.int(7)) {
      case 0: {
        if (out.length === 0) break
        const at = rng.int(out.length)
        out[at] = out[at]! ^ (1 << rng.int(8))
        break
      }
      case 1:
        if (out.length > 0) out[rng.int(out.length)] = rng.int(256)
        break
      case 2:
        out = out.slice(0, rng.int(out.length + 1))
        break
      case 3:
        out = Uint8Array.from([...out, ...rng.bytes(1 + rng.int(16))])
        break
      case 4: {
        // A huge length or clock where a varint was.
        const at = rng.int(out.length + 1)
        const huge = rng.pick([
          [0xff, 0xff, 0xff, 0xff, 0x0f],
          [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
          [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
        ])
        out = Uint8Array.from([...out.slice(0, at), ...huge, ...out.slice(at)])
        break
      }
      case 5:
        // A wrong frame type.
        if (out.length > 0) out[0] = rng.int(14)
        break
      default: {
        const at = rng.int(out.length + 1)
        out = Uint8Array.from([...out.slice(0, at), ...out.slice(rng.int(out.length + 1))])
      }
    }
  }
  return out
}

/** Alice's real history, and payloads an attacker would try: all of them must be refused. */
const corpus = async (server: { url: string }) => {
  const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
  await alice.subscribe('room')
  const device = new Device('alice', 'alicedev1')
  const payloads: Uint8Array[] = []
  const send = async (doc: string, update: Uint8Array) => {
    expect(await alice.update(doc, update)).toBe('ack')
    payloads.push(update)
  }
  await send('room/meta', device.register('room'))
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    const m = device.message(DOC, { text: `message ${i}`, n: i })
    ids.push(m.id)
    await send(DOC, m.update)
  }
  await send(
    CONTROL,
    device.change(CONTROL, (d) =>
      d.getMap('c').set(`${ids[0]}/alicedev1`, { stamp: { wall: Date.now(), counter: 3 }, body: 'edited' }),
    ),
  )
  await send(
    RECEIPTS,
    device.change(RECEIPTS, (d) =>
      d.getMap('r').set('alicedev1', { held: {}, read: {}, at: { wall: Date.now(), counter: 0 } }),
    ),
  )
  const laneDocY = device.doc(DOC)
  payloads.push(Y.encodeStateAsUpdate(laneDocY), Y.encodeStateAsUpdateV2(laneDocY))
  // Deletes of alice's items, and of what the server has not seen yet.
  const client = laneDocY.clientID
  const state = Y.getState(laneDocY.store, client)
  for (const [clock, len] of [
    [0, 1],
    [0, state],
    [state, 5],
    [state + 10, 1],
  ])
    payloads.push(deleteOnly(client, clock!, len!))
  // Forgeries under a fresh clientID: alice's keys, alice as author, non-JSON content.
  const forger = new Device('alice', 'alicedev1').fresh()
  payloads.push(forger.message(DOC, 'forged').update)
  payloads.push(forger.change(DOC, (d) => d.getText('t').insert(0, 'text')))
  payloads.push(forger.change(DOC, (d) => d.getMap('m').set('mallory1.1', new Y.Map())))
  payloads.push(forger.change('room/meta', (d) => d.getMap('devices').set('mallory1', 'alice')))
  const awareness = new Awareness(new Y.Doc())
  awareness.setLocalState({ user: 'alice' })
  const presence = encodeAwarenessUpdate(awareness, [awareness.clientID])
  alice.send({ type: 'awareness', conversation: 'room', update: presence })
  awareness.destroy()
  await alice.ping()
  return { alice, device, payloads, presence, ids }
}

/** One fuzz frame: random bytes, a random valid frame, or a mutation of either. */
const fuzzFrame = (rng: Rng, payloads: readonly Uint8Array[], presence: Uint8Array): Uint8Array => {
  const payload = () => (rng.next() < 0.5 ? rng.pick(payloads) : mutate(rng, rng.pick(payloads)))
  const valid = (): Frame => {
    const doc = rng.pick(DOCS)
    switch (rng.int(10)) {
      case 0:
        return {
          type: 'subscribe',
          conversation: rng.pick(['room', 'other', 'secret', 'a'.repeat(129)]),
          version: rng.int(5),
        }
      case 1:
        return {
          type: 'sync-step1',
          doc,
          stateVector:
            rng.next() < 0.5 ? rng.bytes(rng.int(12)) : Y.encodeStateVectorFromUpdate(rng.pick(payloads)),
        }
      case 2:
        return { type: 'sync-step2', doc, update: payload() }
      case 3:
        return {
          type: 'awareness',
          conversation: 'room',
          update: rng.next() < 0.5 ? presence : mutate(rng, presence),
        }
      case 4:
        return { type: 'ping', time: rng.next() * 1e12 }
      case 5:
        return rng.pick<Frame>([
          { type: 'unsubscribe', conversation: 'room' },
          { type: 'auth', token: 't-alice', device: 'alicedev1' },
          { type: 'ack', refs: [1, 2, 3] },
          { type: 'welcome', user: 'alice', serverTime: 1 },
          { type: 'error', doc, code: 'x', reason: 'y', ref: 1 },
        ])
      default:
        return { type: 'update', doc, ref: 1 + rng.int(1000), update: payload() }
    }
  }
  const roll = rng.next()
  if (roll < 0.1) return rng.bytes(rng.int(300))
  if (roll < 0.55) return encodeFrame(valid())
  return mutate(rng, encodeFrame(valid()))
}

/** Sends `total` fuzz frames as `token`, reconnecting whenever the server closes the socket. */
const fuzz = async (
  url: string,
  token: string,
  device: string,
  total: number,
  rng: Rng,
  corpusOf: readonly [readonly Uint8Array[], Uint8Array],
  batchSize = 200,
) => {
  const closes = new Map<number, number>()
  let sent = 0
  let client: TestClient | undefined
  while (sent < total) {
    if (!client) {
      client = await TestClient.connect(url, token, device)
      client.send({ type: 'subscribe', conversation: 'room', version: 0 })
      const current = client
      void current.closed.then(({ code }) => closes.set(code, (closes.get(code) ?? 0) + 1))
    }
    const batch = Math.min(batchSize, total - sent)
    for (let i = 0; i < batch; i++) client.ws.send(fuzzFrame(rng, ...corpusOf))
    sent += batch
    // A ping round trip paces the batches; a closed socket means reconnect.
    const outcome = await Promise.race([
      client.ping().then(() => 'alive'),
      client.closed.then(() => 'closed'),
    ])
    if (outcome === 'closed') {
      await client.closed
      client = undefined
    }
  }
  client?.ws.close()
  return closes
}

const recording = (inner: StorageAdapter) => {
  const batches: WriteBatch[] = []
  const storage: StorageAdapter = {
    ...inner,
    async write(batch) {
      batches.push(batch)
      await inner.write(batch)
    },
  }
  return { storage, batches }
}

describe('fuzz', () => {
  it(`survives 10,000+ random and mutated frames and changes nothing (seed ${SEED})`, async () => {
    const { storage, batches } = recording(memoryStorage())
    // Refusals go to clients; anything reported here is a server bug the fuzz found.
    const internal: unknown[] = []
    const onError = (error: unknown) => internal.push(error)
    const server = await startServer({
      storage,
      onError,
      limits: { framesPerSecond: 1e6, maxMalformed: 1e9, maxAwarenessClients: 1e6 },
    })
    const { alice, device, payloads, presence, ids } = await corpus(server)
    await server.idle()
    const before = await dumpStorage(storage, 'room')
    const writesBefore = batches.length
    const rng = prng(SEED)

    // A writer (mallory) and a read-only user each send their share; every frame must be refused.
    const counts = { frames: 0 }
    for (const [token, dev] of [
      ['t-mallory', 'mallory1'],
      ['t-reader', 'reader01'],
    ] as const) {
      await fuzz(server.url, token, dev, 5000, rng, [payloads, presence])
      counts.frames += 5000
    }
    // With the default limits too: the malformed and rate closes happen, and nothing breaks.
    const strict = await startServer({ storage, onError })
    // Small batches: the server closes after 10 malformed frames, and the fuzzer reconnects.
    const closes = await fuzz(strict.url, 't-mallory', 'mallory1', 600, rng, [payloads, presence], 15)
    counts.frames += 600
    expect(closes.get(4400) ?? 0).toBeGreaterThan(10)
    await server.idle()
    await strict.idle()

    expect(counts.frames).toBeGreaterThanOrEqual(10_000)
    expect(internal.map(String)).toEqual([])
    const written = batches.slice(writesBefore).flatMap((b) => (b.updates ?? []).map((u) => u.doc))
    expect(written, `seed ${SEED}: no refused frame may write to storage`).toEqual([])
    expect(await dumpStorage(storage, 'room')).toBe(before)

    // The server is still up: a legitimate client syncs everything and writes.
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    const manifest = await bob.subscribe('room')
    expect(manifest.changes.map((c) => c.doc).sort()).toEqual([CONTROL, DOC, RECEIPTS, 'room/meta'].sort())
    const replica = new Y.Doc()
    await bob.syncStep1(DOC, replica)
    expect(ids.every((id) => replica.getMap('m').has(id))).toBe(true)
    const forwarded = alice.later((f) => f.type === 'update' && f.doc === DOC)
    const bobDevice = new Device('bob', 'bobdev01')
    expect(await bob.update('room/meta', bobDevice.register('room'))).toBe('ack')
    expect(await bob.update(DOC, bobDevice.message(DOC, 'after the storm').update)).toBe('ack')
    await forwarded
    expect((await storedDoc(storage, DOC)).getMap('m').size).toBe(ids.length + 1)
    expect(device.doc(DOC).getMap('m').size).toBe(ids.length)
  }, 60_000)
})
