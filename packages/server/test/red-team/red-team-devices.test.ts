import type { FrameOf } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import { Device, laneDoc, member, refusalCode, startServer, storedDoc, TestClient } from '../helpers.js'
import { RawY } from '../y-raw.js'

const refusal = refusalCode

describe('red team: devices across conversations and connections', () => {
  it('a device registered in one conversation writes nothing in another before registering there', async () => {
    const server = await startServer()
    const mallory = await member(server.url, 't-mallory', 'mallory', 'malldev1', 'room')
    await mallory.client.subscribe('other')
    const doc = laneDoc('other')
    const message = mallory.device.message(doc, 'hi')
    expect(refusal(await mallory.client.update(doc, message.update))).toBe('permission/denied')
    const receipts = `other/receipts/${doc.split('/')[2]}`
    const receipt = new Device('mallory', 'malldev1').change(receipts, (d) =>
      d.getMap('r').set('malldev1', { held: {}, read: {}, at: { wall: Date.now(), counter: 0 } }),
    )
    expect(refusal(await mallory.client.update(receipts, receipt))).toBe('permission/denied')
    await server.idle()
    expect((await server.storage.listDocs('other')).filter((d) => d.doc !== 'other/meta')).toHaveLength(0)
  })

  it('replaying alice’s relayed update into another conversation is refused', async () => {
    const server = await startServer()
    const alice = await member(server.url, 't-alice', 'alice', 'alicedev1', 'room')
    const mallory = await member(server.url, 't-mallory', 'mallory', 'malldev1', 'other')
    await mallory.client.subscribe('room')
    const doc = laneDoc('room')
    const relayed = mallory.client.later((f) => f.type === 'update' && f.doc === doc)
    expect(await alice.client.update(doc, alice.device.message(doc, 'for room only').update)).toBe('ack')
    const update = ((await relayed) as FrameOf<'update'>).update
    const target = laneDoc('other')
    expect(refusal(await mallory.client.update(target, update))).toBe('permission/denied')
    // also replaying alice's registration into other/meta
    const reg = alice.device.fresh().register('other')
    expect(refusal(await mallory.client.update('other/meta', reg))).toBe('permission/denied')
    await server.idle()
    expect((await storedDoc(server.storage, 'other/meta')).getMap('devices').toJSON()).toEqual({
      malldev1: 'mallory',
    })
  })

  it('two users racing to first-use a fresh device id: exactly one gets it', async () => {
    const server = await startServer()
    for (let round = 0; round < 5; round++) {
      const id = `racedev${round}`
      const tries = await Promise.all(
        ['t-alice', 't-mallory', 't-bob'].map(async (token) => {
          const c = await TestClient.open(server.url)
          c.send({ type: 'auth', token, device: id })
          const first = await Promise.race([
            c.next((f) => f.type === 'welcome' || f.type === 'error'),
            c.closed.then(() => ({ type: 'closed' }) as const),
          ])
          return first.type === 'welcome' ? (first as FrameOf<'welcome'>).user : null
        }),
      )
      expect(tries.filter((u) => u !== null)).toHaveLength(1)
    }
  })

  it('/y/ ?device= spellings of alice’s device (case, unicode, padding) never act for it', async () => {
    const server = await startServer()
    await member(server.url, 't-alice', 'alice', 'alicedev1')
    await member(server.url, 't-mallory', 'mallory', 'malldev1')
    for (const spelling of [
      'ALICEDEV1',
      'alicedev1 ',
      ' alicedev1',
      'alicedev1\u0000',
      'alicedev\u0131',
      'alicedev1&device=x',
    ]) {
      const y = new RawY(
        new (await import('ws')).default(
          RawY.url(server.url, 'room/meta', { token: 't-mallory', device: spelling }),
        ),
      )
      const outcome = await Promise.race([
        y.closed.then((c) => `closed ${c.code}`),
        new Promise<string>((resolve) => y.ws.once('open', () => resolve('open'))),
        new Promise<string>((resolve) => y.ws.once('error', () => resolve('error'))),
      ])
      if (outcome === 'open') {
        // if it opened, a write for alice's device must not land
        const doc = laneDoc('room')
        const forged = new Device('alice', 'alicedev1')
        forged.seq = 500
        y.sendUpdate(forged.message(doc, 'forged via /y/').update)
        await Promise.race([y.barrier(), y.closed])
        y.ws.terminate()
      }
    }
    await server.idle()
    const doc = await storedDoc(server.storage, laneDoc('room'))
    expect([...doc.getMap('m').keys()].filter((k) => k.startsWith('alicedev1.'))).toEqual([])
  })
})
