import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Authenticate } from '../../src/index.js'
import {
  authenticate,
  Device,
  laneDoc,
  member,
  refusalCode,
  startServer,
  storedDoc,
  TestClient,
} from '../helpers.js'

const DAY = 24 * 60 * 60 * 1000

/** Admin of `room` only; admin on the token-only call only; everyone else as in the helpers. */
const scopedAuth: Authenticate = (token, conversation, context) => {
  if (token === 't-roomadmin')
    return { userId: 'roomadmin', canWrite: true, canAdmin: conversation === 'room' }
  if (token === 't-nulladmin') return { userId: 'nulladmin', canWrite: true, canAdmin: conversation === null }
  return authenticate(token, conversation, context)
}

const refusal = refusalCode

/** One update built on a fresh doc (optionally with a chosen clientID). */
const raw = (fn: (doc: Y.Doc) => void, clientID?: number): Uint8Array => {
  const doc = new Y.Doc()
  if (clientID !== undefined) doc.clientID = clientID
  let update: Uint8Array = new Uint8Array()
  doc.on('update', (u: Uint8Array) => {
    update = u
  })
  doc.transact(() => fn(doc))
  return update
}

/** The conversation still works: alice writes, a newcomer sees a sane retainedFrom, the message stays. */
const stillWorks = async (url: string, storage: Parameters<typeof storedDoc>[0], seq: number) => {
  const alice = await TestClient.connect(url, 't-alice', 'alicedev1')
  const manifest = await alice.subscribe('room')
  expect(Number.isFinite(manifest.retainedFrom)).toBe(true)
  expect(manifest.retainedFrom).toBeLessThanOrEqual(Date.now())
  const device = new Device('alice', 'alicedev1')
  device.seq = seq
  await alice.update('room/meta', device.register('room'))
  const doc = laneDoc('room')
  expect(await alice.update(doc, device.message(doc, `alive ${seq}`).update)).toBe('ack')
  expect((await storedDoc(storage, doc)).getMap('m').has(`alicedev1.${seq + 1}`)).toBe(true)
  alice.ws.terminate()
}

describe('red team: retention and settings roles are per conversation', () => {
  it('an admin of one conversation cannot move retention or settings of another', async () => {
    const server = await startServer({ authenticate: scopedAuth })
    await member(server.url, 't-alice', 'alice', 'alicedev1', 'other')
    const ra = await member(server.url, 't-roomadmin', 'roomadmin', 'radev001', 'room')
    await ra.client.subscribe('other')
    const otherDevice = new Device('roomadmin', 'radev001')
    expect(await ra.client.update('other/meta', otherDevice.register('other'))).toBe('ack')
    const retention = raw((d) => d.getMap('retention').set('radev001', Date.now() - DAY))
    expect(refusal(await ra.client.update('other/meta', retention))).toBe('permission/denied')
    const settings = raw((d) => d.getMap('settings').set('periodMs', 1000))
    expect(refusal(await ra.client.update('other/meta', settings))).toBe('permission/denied')
    // ...while in its own conversation the same write is taken
    expect(
      await ra.client.update(
        'room/meta',
        raw((d) => d.getMap('settings').set('title', 'x')),
      ),
    ).toBe('ack')
    expect((await storedDoc(server.storage, 'other/meta')).getMap('retention').size).toBe(0)
    expect((await storedDoc(server.storage, 'other/meta')).getMap('settings').size).toBe(0)
  })

  it('canAdmin from the token-only authenticate(token, null) call grants nothing', async () => {
    const server = await startServer({ authenticate: scopedAuth })
    const na = await member(server.url, 't-nulladmin', 'nulladmin', 'nadev001')
    const retention = raw((d) => d.getMap('retention').set('nadev001', Date.now() - DAY))
    expect(refusal(await na.client.update('room/meta', retention))).toBe('permission/denied')
    expect(
      refusal(
        await na.client.update(
          'room/meta',
          raw((d) => d.getMap('settings').set('t', 1)),
        ),
      ),
    ).toBe('permission/denied')
  })
})

describe('red team: a member cannot reach retention or settings by another shape', () => {
  it('refuses nested types, same-name arrays/texts, odd keys, and deletes of the server’s value', async () => {
    const server = await startServer()
    const alice = await member(server.url, 't-alice', 'alice', 'alicedev1')
    const doc = laneDoc('room')
    expect(await alice.client.update(doc, alice.device.message(doc, 'keep').update)).toBe('ack')
    await server.setRetainedFrom('room', Date.now() - 60 * DAY)
    const mallory = await member(server.url, 't-mallory', 'mallory', 'malldev1')
    const attacks: Uint8Array[] = [
      raw((d) => d.getMap('retention').set('malldev1', new Y.Map())),
      raw((d) => d.getArray('retention').push([Number.MAX_SAFE_INTEGER])),
      raw((d) => d.getText('retention').insert(0, '9007199254740991')),
      raw((d) => d.getMap('settings').set('__proto__', { periodMs: 1000 })),
      raw((d) => d.getMap('settings').set('periodMs\u200b', 1000)),
      raw((d) => d.getMap('settings').set('periodMs', 1000)),
      raw((d) => d.getMap('retention').set('server', Number.MAX_SAFE_INTEGER)),
      raw((d) => d.getMap('retention').set('x'.repeat(100_000), Date.now())),
      raw((d) => d.getMap('devices').set('malldev1', 'mallory')), // already there: an overwrite of its own
      raw((d) => d.getMap('Retention').set('malldev1', Number.MAX_SAFE_INTEGER)),
    ]
    const codes: string[] = []
    for (const update of attacks) codes.push(refusal(await mallory.client.update('room/meta', update)))
    // every write is refused except mallory re-registering its own device
    expect(codes.filter((c) => c === 'ack').length).toBeLessThanOrEqual(1)
    expect(codes.slice(0, 8).every((c) => c !== 'ack')).toBe(true)
    expect(codes[9]).not.toBe('ack')

    // Deleting the server's own retention value (an item of the server's clientID)
    await server.idle()
    const meta = await storedDoc(server.storage, 'room/meta')
    const mirror = new Y.Doc()
    Y.applyUpdate(mirror, Y.encodeStateAsUpdate(meta))
    const sv = Y.encodeStateVector(mirror)
    mirror.getMap('retention').delete('server')
    const del = Y.encodeStateAsUpdate(mirror, sv)
    const delete1 = refusal(await mallory.client.update('room/meta', del))
    expect(delete1).toBe('permission/denied')
    await server.idle()
    expect((await storedDoc(server.storage, 'room/meta')).getMap('retention').get('server')).toBeTypeOf(
      'number',
    )

    // Writing a struct under the server's clientID (seen in meta) at its next clock
    const serverClient = [...Y.decodeStateVector(Y.encodeStateVector(meta)).entries()].find(
      ([client]) =>
        ![...meta.getMap('devices')._map.values()].some((item) => item.id.client === client) &&
        meta.getMap('retention')._map.get('server')?.id.client === client,
    )
    expect(serverClient).toBeDefined()
    const [client, clock] = serverClient!
    const squat = new Y.Doc()
    Y.applyUpdate(squat, Y.encodeStateAsUpdate(meta))
    const before = Y.encodeStateVector(squat)
    squat.clientID = client
    squat.getMap('pins').set('x', 1)
    const update = Y.encodeStateAsUpdate(squat, before)
    expect(Y.decodeStateVector(Y.encodeStateVector(squat)).get(client)).toBeGreaterThan(clock)
    expect(refusal(await mallory.client.update('room/meta', update))).toBe('permission/denied')
    await server.setRetainedFrom('room', Date.now() - 50 * DAY)
    await stillWorks(server.url, server.storage, 10)
  })

  it('on /y/<conversation>/meta?device=…, a member’s retention and settings writes are dropped', async () => {
    const { RawY } = await import('../y-raw.js')
    const server = await startServer()
    const alice = await member(server.url, 't-alice', 'alice', 'alicedev1')
    const doc = laneDoc('room')
    expect(await alice.client.update(doc, alice.device.message(doc, 'keep').update)).toBe('ack')
    await member(server.url, 't-mallory', 'mallory', 'malldev1')
    const y = await RawY.open(server.url, 'room/meta', { token: 't-mallory', device: 'malldev1' })
    await y.barrier()
    y.sendUpdate(raw((d) => d.getMap('retention').set('malldev1', Number.MAX_SAFE_INTEGER)))
    y.sendUpdate(raw((d) => d.getMap('settings').set('periodMs', 1000)))
    y.sendUpdate(raw((d) => d.getMap('retention').set('malldev1', Date.now() - DAY)))
    await y.barrier()
    await server.idle()
    const meta = await storedDoc(server.storage, 'room/meta')
    expect(meta.getMap('retention').size).toBe(0)
    expect(meta.getMap('settings').size).toBe(0)
    await stillWorks(server.url, server.storage, 10)
  })
})

describe('red team: an admin’s odd values never brick the conversation', () => {
  const odd: [string, unknown][] = [
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['a numeric string', '9007199254740991'],
    ['a bigint', 2n ** 60n],
    ['a float just past now', Date.now() + 0.5 + 120_000],
    ['an array', [Number.MAX_SAFE_INTEGER]],
    ['an object', { valueOf: Number.MAX_SAFE_INTEGER }],
    ['a negative', -1e300],
  ]
  for (const [name, value] of odd) {
    it(`retention = ${name}`, async () => {
      const server = await startServer()
      const alice = await member(server.url, 't-alice', 'alice', 'alicedev1')
      const doc = laneDoc('room')
      expect(await alice.client.update(doc, alice.device.message(doc, 'keep').update)).toBe('ack')
      const admin = await member(server.url, 't-admin', 'admin', 'admindev1')
      await admin.client.update(
        'room/meta',
        raw((d) => d.getMap('retention').set('admindev1', value as never)),
      )
      await server.idle()
      await stillWorks(server.url, server.storage, 10)
      expect((await storedDoc(server.storage, doc)).getMap('m').size).toBe(2)
      // and the server's own retention still moves (its check did not throw on the odd value)
      await server.setRetainedFrom('room', Date.now() - DAY)
      const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
      const manifest = await bob.subscribe('room')
      expect(manifest.retainedFrom).toBeGreaterThanOrEqual(Date.now() - DAY - 60_000)
      expect(manifest.retainedFrom).toBeLessThanOrEqual(Date.now())
    })
  }

  const periods: [string, unknown][] = [
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['1000.5', 1000.5],
    ['a string', '3600000'],
    ['a bigint', 3600000n],
    ['999', 999],
    ['0', 0],
  ]
  for (const [name, value] of periods) {
    it(`settings.periodMs = ${name} is refused`, async () => {
      const server = await startServer()
      const admin = await member(server.url, 't-admin', 'admin', 'admindev1')
      const answer = await admin.client.update(
        'room/meta',
        raw((d) => d.getMap('settings').set('periodMs', value as never)),
      )
      expect(refusal(answer)).toBe('permission/denied')
      await stillWorks(server.url, server.storage, 10)
    })
  }

  it('periodMs cannot be replaced by delete-then-set in one update, nor deleted', async () => {
    const server = await startServer()
    const admin = await member(server.url, 't-admin', 'admin', 'admindev1')
    const set = admin.device.change('room/meta', (d) => d.getMap('settings').set('periodMs', 60 * 60 * 1000))
    expect(await admin.client.update('room/meta', set)).toBe('ack')
    const swap = admin.device.change('room/meta', (d) => {
      d.getMap('settings').delete('periodMs')
      d.getMap('settings').set('periodMs', 1000)
    })
    expect(refusal(await admin.client.update('room/meta', swap))).toBe('permission/denied')
    const fresh = admin.device.fresh()
    Y.applyUpdate(fresh.doc('room/meta'), Y.encodeStateAsUpdate(await storedDoc(server.storage, 'room/meta')))
    const del = fresh.change('room/meta', (d) => d.getMap('settings').delete('periodMs'))
    expect(refusal(await admin.client.update('room/meta', del))).toBe('permission/denied')
    await server.idle()
    expect((await storedDoc(server.storage, 'room/meta')).getMap('settings').get('periodMs')).toBe(3_600_000)
  })
})
