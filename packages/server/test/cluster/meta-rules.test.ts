import type { FrameOf } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import { laneDoc, member, refusalCode, storedDoc, TestClient } from '../helpers.js'
import { isolation, missingBackends, sharedStorage, startNode } from './kit.js'

const skip = await missingBackends('cluster meta rules')
const DAY = 24 * 60 * 60 * 1000

describe.skipIf(skip !== undefined)('settings and retention rules across processes', () => {
  it('fixes the period length once: two first writes through two processes at once, one wins', async () => {
    const isolated = isolation()
    const [a, b] = [await startNode(isolated), await startNode(isolated)]
    const storage = sharedStorage(isolated)
    for (let round = 0; round < 4; round++) {
      const room = `race${round}`
      const first = await member(a.url, 't-admin', 'admin', `admina${round}`, room)
      const second = await member(b.url, 't-admin', 'admin', `adminb${round}`, room)
      const set = (who: typeof first, value: number) =>
        who.client.update(
          `${room}/meta`,
          who.device.change(`${room}/meta`, (d) => d.getMap('settings').set('periodMs', value)),
        )
      const answers = (await Promise.all([set(first, 7 * DAY), set(second, DAY)])).map(refusalCode)
      expect(answers.filter((code) => code === 'ack')).toHaveLength(1)
      expect(answers.filter((code) => code !== 'ack')).toEqual(['permission/denied'])
      // Storage holds the winner's value only, and both processes keep answering the same.
      const meta = await storedDoc(storage, `${room}/meta`)
      expect(meta.getMap('settings').get('periodMs')).toBe(answers[0] === 'ack' ? 7 * DAY : DAY)
      // The loser's doc holds its refused write: later attempts start from fresh docs, as a
      // "first write" again, and are refused by both processes alike.
      const fresh = (who: typeof first) => ({ client: who.client, device: who.device.fresh() })
      const again = (await Promise.all([set(fresh(first), 2 * DAY), set(fresh(second), 3 * DAY)])).map(
        refusalCode,
      )
      expect(again).toEqual(['permission/denied', 'permission/denied'])
    }
  })

  it('moves retention through one process: the others drop the docs, tell their clients, refuse older writes', async () => {
    const isolated = isolation()
    const [a, b] = [await startNode(isolated), await startNode(isolated)]
    const alice = await member(b.url, 't-alice', 'alice', 'alicedev1')
    const old = laneDoc('room', 'normal', Date.now() - 30 * DAY)
    const stamp = { wall: Date.now() - 30 * DAY, counter: 0 }
    expect(await alice.client.update(old, alice.device.message(old, 'old', { stamp }).update)).toBe('ack')
    const admin = await member(a.url, 't-admin', 'admin', 'admindev1')
    const dropped = alice.client.later(
      (f) => f.type === 'manifest' && f.changes.some((c) => c.doc === old && c.dropped),
    )
    const wall = Date.now() - 10 * DAY
    const raise = admin.device.change('room/meta', (d) => d.getMap('retention').set('admindev1', wall))
    expect(await admin.client.update('room/meta', raise)).toBe('ack')
    // Alice is on the other process: she learns of the drop, with the new retention.
    expect(((await dropped) as FrameOf<'manifest'>).retainedFrom).toBeGreaterThanOrEqual(wall)
    const late = alice.device.message(old, 'too late', { stamp: { wall: Date.now() - 20 * DAY, counter: 1 } })
    expect(refusalCode(await alice.client.update(old, late.update))).toBe('retention/expired')
    // A client arriving at the other process later is told too.
    const bob = await TestClient.connect(b.url, 't-bob', 'bobdev01')
    expect((await bob.subscribe('room')).retainedFrom).toBeGreaterThanOrEqual(wall)
  })
})
