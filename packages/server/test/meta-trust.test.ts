import type { FrameOf } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { Device, laneDoc, startServer, storedDoc, TestClient } from './helpers.js'

const DAY = 24 * 60 * 60 * 1000
/** The clientID that wins every concurrent first write in Yjs. */
const TOP_CLIENT = Number.MAX_SAFE_INTEGER

/** A member connected to `room` with a registered device. */
const member = async (url: string, token: string, user: string, id: string) => {
  const client = await TestClient.connect(url, token, id)
  await client.subscribe('room')
  const device = new Device(user, id)
  expect(await client.update('room/meta', device.register('room'))).toBe('ack')
  return { client, device }
}

/** Alice with three current messages and one a month old. */
const seed = async (url: string) => {
  const alice = await member(url, 't-alice', 'alice', 'alicedev1')
  const current = laneDoc('room')
  const old = laneDoc('room', 'normal', Date.now() - 30 * DAY)
  for (const body of ['one', 'two', 'three'])
    expect(await alice.client.update(current, alice.device.message(current, body).update)).toBe('ack')
  const stamp = { wall: Date.now() - 30 * DAY, counter: 0 }
  expect(await alice.client.update(old, alice.device.message(old, 'old', { stamp }).update)).toBe('ack')
  return { alice, current, old }
}

/** A write of `value` into meta map `map` under `key`, from a fresh doc with this clientID. */
const metaWrite = (map: string, key: string, value: unknown, clientID?: number): Uint8Array => {
  const doc = new Y.Doc()
  if (clientID !== undefined) doc.clientID = clientID
  const before = Y.encodeStateVector(doc)
  doc.getMap(map).set(key, value)
  return Y.encodeStateAsUpdate(doc, before)
}

const refusal = (answer: 'ack' | FrameOf<'error'>) => (answer === 'ack' ? 'ack' : answer.code)

describe('retention: only an admin moves it, never past the server’s time or policy', () => {
  it('a member writing retention = 2^53-1 changes nothing: every message stays, writes go on', async () => {
    const server = await startServer()
    const { alice, current } = await seed(server.url)
    const mallory = await member(server.url, 't-mallory', 'mallory', 'malldev1')
    const brick = mallory.device.change('room/meta', (d) =>
      d.getMap('retention').set('malldev1', Number.MAX_SAFE_INTEGER),
    )
    expect(refusal(await mallory.client.update('room/meta', brick))).toBe('permission/denied')
    const past = metaWrite('retention', 'malldev1', Date.now() - 10 * DAY)
    expect(refusal(await mallory.client.update('room/meta', past))).toBe('permission/denied')
    await server.idle()
    expect((await storedDoc(server.storage, current)).getMap('m').size).toBe(3)
    expect((await storedDoc(server.storage, 'room/meta')).getMap('retention').size).toBe(0)
    expect(await alice.client.update(current, alice.device.message(current, 'four').update)).toBe('ack')
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    expect((await bob.subscribe('room')).retainedFrom).toBe(0)
  })

  it('an admin moves it, but never past the server’s time', async () => {
    const server = await startServer()
    const { current, old } = await seed(server.url)
    const admin = await member(server.url, 't-admin', 'admin', 'admindev1')
    const future = metaWrite('retention', 'admindev1', Number.MAX_SAFE_INTEGER)
    expect(refusal(await admin.client.update('room/meta', future))).toBe('permission/denied')
    const dropped = admin.client.later((f) => f.type === 'manifest' && f.changes.some((c) => c.dropped))
    const wall = Date.now() - 10 * DAY
    expect(await admin.client.update('room/meta', metaWrite('retention', 'admindev1', wall))).toBe('ack')
    expect(await dropped).toMatchObject({ retainedFrom: wall, changes: [{ doc: old, dropped: true }] })
    expect((await storedDoc(server.storage, current)).getMap('m').size).toBe(3)
  })

  it('with a retention policy, an admin cannot drop more than the policy does', async () => {
    const server = await startServer({ retentionDays: 30 })
    const { current } = await seed(server.url)
    const admin = await member(server.url, 't-admin', 'admin', 'admindev1')
    const tooRecent = metaWrite('retention', 'admindev1', Date.now() - 10 * DAY)
    expect(refusal(await admin.client.update('room/meta', tooRecent))).toBe('permission/denied')
    const older = metaWrite('retention', 'admindev1', Date.now() - 40 * DAY)
    expect(await admin.client.update('room/meta', older)).toBe('ack')
    expect((await storedDoc(server.storage, current)).getMap('m').size).toBe(3)
  })

  it('ignores a client value past its time that an older server stored (a bricked meta)', async () => {
    const server = await startServer()
    const { current } = await seed(server.url)
    await server.close()
    const brick = metaWrite('retention', 'malldev1', Number.MAX_SAFE_INTEGER)
    await server.storage.write({ updates: [{ doc: 'room/meta', update: brick, messages: 0, newest: 0 }] })
    const again = await startServer({ storage: server.storage })
    const alice = await TestClient.connect(again.url, 't-alice', 'alicedev1')
    expect((await alice.subscribe('room')).retainedFrom).toBe(0)
    const device = new Device('alice', 'alicedev1')
    device.seq = 10
    expect(await alice.update(current, device.message(current, 'still here').update)).toBe('ack')
    expect((await storedDoc(again.storage, current)).getMap('m').size).toBe(4)
  })
})

describe('settings: admins only, and the period length is fixed once set', () => {
  it('refuses a "first write" of periodMs = 1 under clientID 2^53-1, and keeps every doc', async () => {
    const server = await startServer()
    const { current } = await seed(server.url)
    const admin = await member(server.url, 't-admin', 'admin', 'admindev1')
    const set = admin.device.change('room/meta', (d) => d.getMap('settings').set('periodMs', 7 * DAY))
    expect(await admin.client.update('room/meta', set)).toBe('ack')
    const mallory = await member(server.url, 't-mallory', 'mallory', 'malldev1')
    for (const value of [1, 60 * 60 * 1000]) {
      const attack = metaWrite('settings', 'periodMs', value, TOP_CLIENT - value)
      expect(refusal(await mallory.client.update('room/meta', attack))).toBe('permission/denied')
    }
    // Not even an admin changes it, by overwrite or by a concurrent "first write".
    const change = admin.device.change('room/meta', (d) => d.getMap('settings').set('periodMs', DAY))
    expect(refusal(await admin.client.update('room/meta', change))).toBe('permission/denied')
    const first = metaWrite('settings', 'periodMs', DAY, TOP_CLIENT)
    expect(refusal(await admin.client.update('room/meta', first))).toBe('permission/denied')
    await server.setRetainedFrom('room', Date.now() - 30 * DAY)
    expect((await storedDoc(server.storage, 'room/meta')).getMap('settings').get('periodMs')).toBe(7 * DAY)
    expect((await storedDoc(server.storage, current)).getMap('m').size).toBe(3)
  })

  it('lets admins write other settings, and nobody else', async () => {
    const server = await startServer()
    const mallory = await member(server.url, 't-mallory', 'mallory', 'malldev1')
    const admin = await member(server.url, 't-admin', 'admin', 'admindev1')
    const title = metaWrite('settings', 'title', 'Ops', TOP_CLIENT)
    expect(refusal(await mallory.client.update('room/meta', title))).toBe('permission/denied')
    expect(await admin.client.update('room/meta', metaWrite('settings', 'title', 'Ops'))).toBe('ack')
    const invalid = metaWrite('settings', 'periodMs', 1)
    expect(refusal(await admin.client.update('room/meta', invalid))).toBe('permission/denied')
  })
})
