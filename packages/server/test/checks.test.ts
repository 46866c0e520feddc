import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { laneDoc, startServer, TestClient } from './helpers.js'
import { CONTROL, DOC, impersonationSuite, partiesSetup, record, singleServer } from './trust-suite.js'

const RECEIPTS = `room/receipts/${DOC.split('/')[2]}`

const setup = async () => {
  const server = await startServer()
  return { server, ...(await partiesSetup(singleServer(server))) }
}

describe('malformed updates', () => {
  it('refuses V2 encodings and unreadable bytes with protocol/malformed', async () => {
    const { mallory, refused } = await setup()
    const doc = new Y.Doc()
    doc.getMap('m').set('mallory1.1', record('mallory', 'mallory1'))
    await refused(mallory, DOC, Y.encodeStateAsUpdateV2(doc), 'protocol/malformed')
    await refused(mallory, DOC, new Uint8Array([1, 2, 3, 250, 7]), 'protocol/malformed')
    // The V1 bytes of the same doc are fine.
    expect(await mallory.client.update(DOC, Y.encodeStateAsUpdate(doc))).toBe('ack')
  })

  it('holds an update whose dependencies are missing until they come, and refuses it if they never do', async () => {
    const { mallory, server } = await setup()
    const doc = new Y.Doc()
    doc.getMap('m').set('mallory1.1', record('mallory', 'mallory1'))
    const first = Y.encodeStateAsUpdate(doc)
    const sv = Y.encodeStateVector(doc)
    doc.getMap('m').set('mallory1.2', record('mallory', 'mallory1'))
    // The second set alone starts past what the server has of this client: it waits ...
    const second = mallory.client.update(DOC, Y.encodeStateAsUpdate(doc, sv))
    await mallory.client.ping()
    await server.idle()
    // ... until the first arrives (a retried earlier frame, say); then both commit.
    expect(await mallory.client.update(DOC, first)).toBe('ack')
    expect(await second).toBe('ack')
  })

  it('refuses an update whose dependencies never come, after dependencyWaitMs', async () => {
    const server = await startServer({ limits: { dependencyWaitMs: 30 } })
    const client = await TestClient.connect(server.url, 't-mallory', 'mallory1')
    await client.subscribe('room')
    const doc = new Y.Doc()
    doc.getMap('m').set('mallory1.1', record('mallory', 'mallory1'))
    const sv = Y.encodeStateVector(doc)
    doc.getMap('m').set('mallory1.2', record('mallory', 'mallory1'))
    expect(await client.update(DOC, Y.encodeStateAsUpdate(doc, sv))).toMatchObject({
      code: 'protocol/malformed',
    })
    expect(await server.storage.listDocs('room')).toEqual([])
  })
})

describe('permissions', () => {
  it('refuses any write from a user who may not write the conversation', async () => {
    const { reader, refused } = await setup()
    await refused(reader, DOC, reader.device.message(DOC, 'hi').update, 'permission/denied')
    await refused(reader, 'room/meta', reader.device.register('room'), 'permission/denied')
  })

  it('accepts a read-only client’s step 2 when it adds nothing', async () => {
    const { reader, replica, server } = await setup()
    const device = await replica(reader, DOC)
    reader.client.send({ type: 'sync-step2', doc: DOC, update: Y.encodeStateAsUpdate(device.doc(DOC)) })
    await reader.client.ping()
    await server.idle()
    expect(reader.client.errors()).toEqual([])
  })
})

impersonationSuite('impersonation', async () => singleServer(await startServer()))

describe('content rules', () => {
  it('refuses anything but JSON values on the root map m in lane docs', async () => {
    const { mallory, refused } = await setup()
    const attempt = (fn: (doc: Y.Doc) => void) =>
      refused(mallory, DOC, mallory.device.fresh().change(DOC, fn), 'permission/denied')
    await attempt((doc) => doc.getText('t').insert(0, 'hi'))
    await attempt((doc) => doc.getMap('x').set('mallory1.9', record('mallory', 'mallory1')))
    await attempt((doc) => doc.getMap('m').set('mallory1.10', new Y.Map()))
    await attempt((doc) => doc.getMap('m').set('mallory1.11', new Uint8Array([1])))
    await attempt((doc) => doc.getMap('m').set('not-an-id', record('mallory', 'mallory1')))
    const { body: _body, ...noBody } = record('mallory', 'mallory1')
    await attempt((doc) => doc.getMap('m').set('mallory1.12', noBody))
    await attempt((doc) =>
      doc.getMap('m').set('mallory1.13', record('mallory', 'mallory1', { priority: 'vip' })),
    )
    await attempt((doc) =>
      doc.getMap('m').set('mallory1.14', record('mallory', 'mallory1', { replyTo: 'nope' })),
    )
    // A valid one still goes through.
    expect(await mallory.client.update(DOC, mallory.device.fresh().message(DOC, 'fine').update)).toBe('ack')
  })

  it('refuses receipts and devices entries other than the sender’s own', async () => {
    const { mallory, refused } = await setup()
    const receipt = { held: {}, read: {}, at: { wall: Date.now(), counter: 0 } }
    const m = () => mallory.device.fresh()
    await refused(
      mallory,
      RECEIPTS,
      m().change(RECEIPTS, (d) => d.getMap('r').set('alicedev1', receipt)),
      'permission/denied',
    )
    expect(
      await mallory.client.update(
        RECEIPTS,
        m().change(RECEIPTS, (d) => d.getMap('r').set('mallory1', receipt)),
      ),
    ).toBe('ack')
    await refused(
      mallory,
      'room/meta',
      m().change('room/meta', (d) => d.getMap('devices').set('mallory1', 'alice')),
      'permission/denied',
    )
    await refused(
      mallory,
      'room/meta',
      m().change('room/meta', (d) => d.getMap('devices').set('evildev9', 'mallory')),
      'permission/denied',
    )
  })

  it('refuses overwriting another user’s meta values, but lets anyone change pins', async () => {
    const { alice, mallory, message, replica, refused } = await setup()
    // Settings are an admin's (see meta-trust.test.ts): a member's write is refused outright.
    // A pin is keyed by its pinner's device and must match the stored message.
    const { body, ...header } = alice.device.doc(DOC).getMap('m').get(message.id) as Record<string, unknown>
    const settings = alice.device.change('room/meta', (d) => d.getMap('settings').set('periodMs', 604800000))
    await refused(alice, 'room/meta', settings, 'permission/denied')
    alice.device = alice.device.fresh()
    const pin = alice.device.change('room/meta', (d) =>
      d.getMap('pins').set(`${message.id}/alicedev1`, { header, body, stamp: header.stamp }),
    )
    expect(await alice.client.update('room/meta', pin)).toBe('ack')
    const meta = async (fn: (d: Y.Doc) => void) =>
      (await replica(mallory, 'room/meta')).change('room/meta', fn)
    await refused(
      mallory,
      'room/meta',
      await meta((d) => d.getMap('devices').delete('alicedev1')),
      'permission/denied',
    )
    // Retention belongs to its writer too; 'server' is the server's.
    await refused(
      mallory,
      'room/meta',
      await meta((d) => d.getMap('retention').set('server', Date.now())),
      'permission/denied',
    )
    expect(
      await mallory.client.update(
        'room/meta',
        await meta((d) => d.getMap('pins').delete(`${message.id}/alicedev1`)),
      ),
    ).toBe('ack')
  })

  it('refuses stamps beyond server time + 60 s with clock/skew', async () => {
    const { alice, message, refused } = await setup()
    const future = { stamp: { wall: Date.now() + 120_000, counter: 0 } }
    await refused(alice, DOC, alice.device.fresh().message(DOC, 'from tomorrow', future).update, 'clock/skew')
    const edit = { stamp: { wall: Date.now() + 120_000, counter: 0 }, body: 'late edit' }
    const update = alice.device
      .fresh()
      .change(CONTROL, (d) => d.getMap('c').set(`${message.id}/alicedev1`, edit))
    await refused(alice, CONTROL, update, 'clock/skew')
    // Within the drift is fine.
    const near = alice.device
      .fresh()
      .message(DOC, 'soon', { stamp: { wall: Date.now() + 30_000, counter: 0 } })
    expect(await alice.client.update(DOC, near.update)).toBe('ack')
  })

  it('refuses writes into a period in the future with clock/skew', async () => {
    const { alice, refused } = await setup()
    const future = laneDoc('room', 'normal', Date.now() + 30 * 24 * 60 * 60 * 1000)
    await refused(alice, future, alice.device.message(future, 'next month').update, 'clock/skew')
  })
})
