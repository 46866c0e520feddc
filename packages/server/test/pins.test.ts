import { describe, expect, it } from 'vitest'
import type * as Y from 'yjs'
import { type Device, expectRefused, laneDoc, member, startServer, type TestClient } from './helpers.js'

const DOC = laneDoc('room')
const CONTROL = `room/control/${DOC.split('/')[2]}`

/** Alice, Bob and Mallory registered; Alice sent one message and edited it. */
const setup = async () => {
  const server = await startServer()
  const connect = (token: string, user: string, device: string) => member(server.url, token, user, device)
  const alice = await connect('t-alice', 'alice', 'alicedev1')
  const bob = await connect('t-bob', 'bob', 'bobdev01')
  const mallory = await connect('t-mallory', 'mallory', 'mallory1')
  const message = alice.device.message(DOC, 'the contract')
  expect(await alice.client.update(DOC, message.update)).toBe('ack')
  const record = alice.device.doc(DOC).getMap('m').get(message.id) as Record<string, unknown>
  const { body: _body, ...header } = record
  const edit = { stamp: { wall: (header.stamp as { wall: number }).wall + 1, counter: 0 }, body: 'v2' }
  const editUpdate = alice.device.change(CONTROL, (d) => d.getMap('c').set(`${message.id}/alicedev1`, edit))
  expect(await alice.client.update(CONTROL, editUpdate)).toBe('ack')
  /** A pin update written by `who` on a meta doc synced from the server first. */
  const pin = async (who: { client: TestClient; device: Device }, fn: (pins: Y.Map<unknown>) => void) => {
    const device = who.device.fresh()
    await who.client.syncStep1('room/meta', device.doc('room/meta'))
    return device.change('room/meta', (d) => fn(d.getMap('pins')))
  }
  const refused = (who: { client: TestClient }, update: Uint8Array) =>
    expectRefused(server, 'room', who.client, bob.client, 'room/meta', update, 'permission/denied')
  return { server, alice, bob, mallory, message, header, edit, pin, refused }
}

describe('pins on the server', () => {
  it('refuses a snapshot that does not match the stored message', async () => {
    const { mallory, message, header, pin, refused } = await setup()
    // The attack as it worked before: any JSON under the message id.
    const forged = { header, body: 'FORGED', stamp: header.stamp, pinnedBy: 'alice' }
    await refused(mallory, await pin(mallory, (p) => p.set(message.id, forged)))
    const key = `${message.id}/mallory1`
    await refused(
      mallory,
      await pin(mallory, (p) => p.set(key, { header, body: 'FORGED', stamp: header.stamp })),
    )
    // The right text under an edit stamp nobody wrote, and a header naming another author.
    const madeUp = { wall: (header.stamp as { wall: number }).wall + 7, counter: 0 }
    await refused(mallory, await pin(mallory, (p) => p.set(key, { header, body: 'v2', stamp: madeUp })))
    const other = { ...header, priority: 'urgent' }
    await refused(
      mallory,
      await pin(mallory, (p) => p.set(key, { header: other, body: 'the contract', stamp: header.stamp })),
    )
  })

  it('refuses a pin of an id never sent, and of a deleted message', async () => {
    const { alice, mallory, message, header, pin, refused } = await setup()
    const never = 'alicedev1.99'
    const forged = { header, body: 'FORGED', stamp: header.stamp, pinnedBy: 'mallory' }
    await refused(mallory, await pin(mallory, (p) => p.set(never, forged)))
    await refused(
      mallory,
      await pin(mallory, (p) =>
        p.set(`${never}/mallory1`, { header, body: 'the contract', stamp: header.stamp }),
      ),
    )
    const tombstone = { stamp: { wall: Date.now(), counter: 5 }, deleted: true, header }
    expect(
      await alice.client.update(
        CONTROL,
        alice.device.change(CONTROL, (d) => d.getMap('c').set(`${message.id}/alicedev1`, tombstone)),
      ),
    ).toBe('ack')
    expect(
      await alice.client.update(
        DOC,
        alice.device.change(DOC, (d) => d.getMap('m').delete(message.id)),
      ),
    ).toBe('ack')
    await refused(
      mallory,
      await pin(mallory, (p) =>
        p.set(`${message.id}/mallory1`, { header, body: 'the contract', stamp: header.stamp }),
      ),
    )
  })

  it('refuses a pin that names another user as pinner', async () => {
    const { mallory, message, header, pin, refused } = await setup()
    const snapshot = { header, body: 'the contract', stamp: header.stamp }
    // The old format: the pinner named in the value.
    await refused(mallory, await pin(mallory, (p) => p.set(message.id, { ...snapshot, pinnedBy: 'alice' })))
    await refused(mallory, await pin(mallory, (p) => p.set(`${message.id}/alicedev1`, snapshot)))
    await refused(mallory, await pin(mallory, (p) => p.set(`${message.id}/bobdev01`, snapshot)))
  })

  it('accepts genuine pins of the original or an edit; anyone may unpin, nobody may overwrite', async () => {
    const { bob, mallory, message, header, edit, pin, refused } = await setup()
    const original = { header, body: 'the contract', stamp: header.stamp }
    expect(
      await mallory.client.update(
        'room/meta',
        await pin(mallory, (p) => p.set(`${message.id}/mallory1`, original)),
      ),
    ).toBe('ack')
    const edited = { header, body: edit.body, stamp: edit.stamp }
    expect(
      await bob.client.update('room/meta', await pin(bob, (p) => p.set(`${message.id}/bobdev01`, edited))),
    ).toBe('ack')
    await refused(mallory, await pin(mallory, (p) => p.set(`${message.id}/bobdev01`, original)))
    expect(
      await mallory.client.update('room/meta', await pin(mallory, (p) => p.delete(`${message.id}/bobdev01`))),
    ).toBe('ack')
  })
})
