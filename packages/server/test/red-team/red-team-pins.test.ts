import { describe, expect, it } from 'vitest'
import type * as Y from 'yjs'
import {
  type Device,
  expectRefused,
  laneDoc,
  member,
  startServer,
  storedDoc,
  type TestClient,
} from '../helpers.js'

const DOC = laneDoc('room')
const CONTROL = `room/control/${DOC.split('/')[2]}`

/** Alice sent X and Y and edited Y; Bob and Mallory are members. */
const setup = async () => {
  const server = await startServer()
  const connect = (token: string, user: string, device: string) => member(server.url, token, user, device)
  const alice = await connect('t-alice', 'alice', 'alicedev1')
  const bob = await connect('t-bob', 'bob', 'bobdev01')
  const mallory = await connect('t-mallory', 'mallory', 'mallory1')
  const x = alice.device.message(DOC, 'pay 10 EUR')
  expect(await alice.client.update(DOC, x.update)).toBe('ack')
  const y = alice.device.message(DOC, 'hello')
  expect(await alice.client.update(DOC, y.update)).toBe('ack')
  const record = (id: string) => alice.device.doc(DOC).getMap('m').get(id) as Record<string, unknown>
  const { body: _b, ...header } = record(x.id)
  const editY = { stamp: { wall: Date.now() + 1, counter: 0 }, body: 'pay 10,000 EUR' }
  const editUpdate = alice.device.change(CONTROL, (d) => d.getMap('c').set(`${y.id}/alicedev1`, editY))
  expect(await alice.client.update(CONTROL, editUpdate)).toBe('ack')
  const pin = async (who: { client: TestClient; device: Device }, fn: (pins: Y.Map<unknown>) => void) => {
    const device = who.device.fresh()
    await who.client.syncStep1('room/meta', device.doc('room/meta'))
    return device.change('room/meta', (d) => fn(d.getMap('pins')))
  }
  const refused = async (who: { client: TestClient }, update: Uint8Array) => {
    await expectRefused(server, 'room', who.client, bob.client, 'room/meta', update, 'permission/denied')
  }
  return { server, alice, bob, mallory, x, y, header, editY, record, pin, refused }
}

describe('red team: forged pins', () => {
  it('refuses a pin of X showing the body of the author’s edit of another message Y', async () => {
    const { mallory, x, header, editY, pin, refused } = await setup()
    await refused(
      mallory,
      await pin(mallory, (p) => p.set(`${x.id}/mallory1`, { header, body: editY.body, stamp: editY.stamp })),
    )
  })

  it('refuses a header that differs (extra field, priority, stamp) or a stamp/body mix', async () => {
    const { mallory, x, header, pin, refused } = await setup()
    const stamp = header.stamp
    const base = { header, body: 'pay 10 EUR', stamp }
    await refused(
      mallory,
      await pin(mallory, (p) =>
        p.set(`${x.id}/mallory1`, { ...base, header: { ...header, pinnedBy: 'alice' } }),
      ),
    )
    await refused(
      mallory,
      await pin(mallory, (p) =>
        p.set(`${x.id}/mallory1`, { ...base, header: { ...header, priority: 'urgent' } }),
      ),
    )
    await refused(
      mallory,
      await pin(mallory, (p) =>
        p.set(`${x.id}/mallory1`, { ...base, stamp: { ...(stamp as object), counter: 1 } }),
      ),
    )
    // a mix: the edit's stamp with the original body
    await refused(
      mallory,
      await pin(mallory, (p) =>
        p.set(`${x.id}/mallory1`, { ...base, stamp: { wall: Date.now() + 1, counter: 0 } }),
      ),
    )
  })

  it('refuses pins keyed by odd spellings of the pinner or message (suffixes, double slashes)', async () => {
    const { mallory, x, header, pin, refused } = await setup()
    const value = { header, body: 'pay 10 EUR', stamp: header.stamp }
    for (const key of [
      `${x.id}/alicedev1`,
      `${x.id}//mallory1`,
      `${x.id}/mallory1/`,
      `${x.id}/alicedev1/mallory1`,
      `${x.id}.0/mallory1`,
      `${x.id}/MALLORY1`,
    ])
      await refused(mallory, await pin(mallory, (p) => p.set(key, value)))
  })

  it('refuses pinEdits written by anyone but the author, even copying a genuine edit', async () => {
    const { mallory, bob, y, editY, pin, refused } = await setup()
    await refused(
      mallory,
      await pin(mallory, (p) => p.doc!.getMap('pinEdits').set(`${y.id}/alicedev1`, editY)),
    )
    await refused(
      mallory,
      await pin(mallory, (p) => p.doc!.getMap('pinEdits').set(`${y.id}/mallory1`, editY)),
    )
    await refused(
      bob,
      await pin(bob, (p) => p.doc!.getMap('pinEdits').set(`${y.id}/bobdev01`, { ...editY, body: 'forged' })),
    )
  })

  it('a genuine pin cannot be turned into a forged one by deleting and re-setting it in one update', async () => {
    const { server, mallory, bob, x, header, pin, refused } = await setup()
    const original = { header, body: 'pay 10 EUR', stamp: header.stamp }
    expect(
      await mallory.client.update(
        'room/meta',
        await pin(mallory, (p) => p.set(`${x.id}/mallory1`, original)),
      ),
    ).toBe('ack')
    await refused(
      mallory,
      await pin(mallory, (p) => {
        p.delete(`${x.id}/mallory1`)
        p.set(`${x.id}/mallory1`, { ...original, body: 'FORGED' })
      }),
    )
    // bob deletes mallory's pin and sets his own forged one in the same update
    await refused(
      bob,
      await pin(bob, (p) => {
        p.delete(`${x.id}/mallory1`)
        p.set(`${x.id}/bobdev01`, { ...original, body: 'FORGED' })
      }),
    )
    await server.idle()
    const pins = (await storedDoc(server.storage, 'room/meta')).getMap('pins').toJSON()
    expect(Object.values(pins).every((v) => (v as { body: string }).body === 'pay 10 EUR')).toBe(true)
  })
})
