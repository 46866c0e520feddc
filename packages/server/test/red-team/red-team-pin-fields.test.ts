// Red team: a pin value with fields beyond { header, body, stamp } (a claimed pinnedBy, a 500 KB blob) is refused.

import { expect, it } from 'vitest'
import { Device, laneDoc, startServer, storedDoc, TestClient } from '../helpers.js'

it('refuses a pin value with fields beyond { header, body, stamp }', async () => {
  const server = await startServer()
  const connect = async (token: string, user: string, id: string) => {
    const client = await TestClient.connect(server.url, token, id)
    await client.subscribe('room')
    const device = new Device(user, id)
    expect(await client.update('room/meta', device.register('room'))).toBe('ack')
    return { client, device }
  }
  const alice = await connect('t-alice', 'alice', 'alicedev1')
  const mallory = await connect('t-mallory', 'mallory', 'mallory1')
  const doc = laneDoc('room')
  const x = alice.device.message(doc, 'pay 10 EUR')
  expect(await alice.client.update(doc, x.update)).toBe('ack')
  const { body, ...header } = alice.device.doc(doc).getMap('m').get(x.id) as Record<string, unknown>
  const m = mallory.device.fresh()
  await mallory.client.syncStep1('room/meta', m.doc('room/meta'))
  const forged = { header, body, stamp: header.stamp, pinnedBy: 'alice', note: 'x'.repeat(500_000) }
  const answer = await mallory.client.update(
    'room/meta',
    m.change('room/meta', (d) => d.getMap('pins').set(`${x.id}/mallory1`, forged)),
  )
  await server.idle()
  const stored = (await storedDoc(server.storage, 'room/meta')).getMap('pins').get(`${x.id}/mallory1`) as
    | Record<string, unknown>
    | undefined
  // Meta is never dropped: such a value would stay, claiming alice pinned it.
  expect(answer).not.toBe('ack')
  expect(stored?.pinnedBy).toBeUndefined()
})
