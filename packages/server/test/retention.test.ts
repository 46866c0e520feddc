import { memoryStorage } from '@tidings/core'
import type { FrameOf } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { Device, laneDoc, startServer, storedDoc, TestClient } from './helpers.js'

const DAY = 24 * 60 * 60 * 1000

const seed = async (url: string) => {
  const alice = await TestClient.connect(url, 't-alice', 'alicedev1')
  await alice.subscribe('room')
  const device = new Device('alice', 'alicedev1')
  const old = laneDoc('room', 'normal', Date.now() - 30 * DAY)
  const current = laneDoc('room')
  expect(await alice.update('room/meta', device.register('room'))).toBe('ack')
  const stamp = { wall: Date.now() - 30 * DAY, counter: 0 }
  expect(await alice.update(old, device.message(old, 'a month ago', { stamp }).update)).toBe('ack')
  expect(await alice.update(current, device.message(current, 'today').update)).toBe('ack')
  return { alice, device, old, current }
}

describe('retention', () => {
  it('drops whole period docs below retainedFrom, records it in meta, and pushes a manifest', async () => {
    const server = await startServer()
    const { old, current, device, alice } = await seed(server.url)
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    const { version } = await bob.subscribe('room')
    const pushed = bob.later((f) => f.type === 'manifest')
    const forwarded = bob.later((f) => f.type === 'update' && f.doc === 'room/meta')
    const retainedFrom = Date.now() - 10 * DAY
    await server.setRetainedFrom('room', retainedFrom)

    expect(await pushed).toMatchObject({
      since: version,
      version: version + 1,
      retainedFrom,
      changes: [{ doc: old, dropped: true }],
    })
    const docs = (await server.storage.listDocs('room')).map((d) => d.doc)
    expect(docs).not.toContain(old)
    expect(docs).toContain(current)
    // Core reads retention from meta: the server's value is there, and reached bob too.
    expect((await storedDoc(server.storage, 'room/meta')).getMap('retention').get('server')).toBe(
      retainedFrom,
    )
    const meta = new Y.Doc()
    Y.applyUpdate(meta, ((await forwarded) as FrameOf<'update'>).update)
    expect(meta.getMap('retention').get('server')).toBe(retainedFrom)

    // Writes below it are refused; syncing it yields nothing.
    const late = device.message(old, 'too late', { stamp: { wall: Date.now() - 29 * DAY, counter: 0 } })
    expect(await alice.update(old, late.update)).toMatchObject({ code: 'retention/expired', doc: old })
    const replica = new Y.Doc()
    const step2 = bob.later((f) => f.type === 'sync-step2' && f.doc === old)
    bob.send({ type: 'sync-step1', doc: old, stateVector: Y.encodeStateVector(replica) })
    expect(((await step2) as FrameOf<'sync-step2'>).update).toEqual(new Uint8Array([0, 0]))

    // A later subscriber's full manifest carries retainedFrom and no dropped doc.
    const carol = await TestClient.connect(server.url, 't-mallory', 'mallory1')
    const full = await carol.subscribe('room')
    expect(full.retainedFrom).toBe(retainedFrom)
    expect(full.changes.map((c) => c.doc)).not.toContain(old)
    // retainedFrom only moves forward.
    await server.setRetainedFrom('room', retainedFrom - DAY)
    expect((await storedDoc(server.storage, 'room/meta')).getMap('retention').get('server')).toBe(
      retainedFrom,
    )
  })

  it('applies a retentionDays policy when a conversation opens', async () => {
    const storage = memoryStorage()
    const first = await startServer({ storage })
    const { old, current } = await seed(first.url)
    await first.close()
    const second = await startServer({ storage, retentionDays: (id) => (id === 'room' ? 10 : undefined) })
    const bob = await TestClient.connect(second.url, 't-bob', 'bobdev01')
    await bob.subscribe('room')
    await bob.next((f) => f.type === 'manifest' && f.changes.some((c) => c.doc === old && c.dropped))
    const docs = (await storage.listDocs('room')).map((d) => d.doc)
    expect(docs).toEqual(expect.arrayContaining([current, 'room/meta']))
    expect(docs).not.toContain(old)
  })

  it('follows a retention an admin wrote into meta', async () => {
    const server = await startServer()
    const { old, alice } = await seed(server.url)
    const admin = await TestClient.connect(server.url, 't-admin', 'admindev1')
    await admin.subscribe('room')
    const device = new Device('admin', 'admindev1')
    expect(await admin.update('room/meta', device.register('room'))).toBe('ack')
    const dropped = alice.later((f) => f.type === 'manifest' && f.changes.some((c) => c.dropped))
    const wall = Date.now() - 10 * DAY
    expect(
      await admin.update(
        'room/meta',
        device.change('room/meta', (d) => d.getMap('retention').set('admindev1', wall)),
      ),
    ).toBe('ack')
    expect(await dropped).toMatchObject({ retainedFrom: wall, changes: [{ doc: old, dropped: true }] })
  })
})
