// Red team (exhaustion): one member creates unbounded period docs for the same instant by varying
// the `~<periodMs>` suffix (1000..366 days are all valid names); every doc is kept and listed.
import { expect, it } from 'vitest'
import { Device, startServer, TestClient } from '../helpers.js'

it('caps the period docs one member can create', async () => {
  const server = await startServer()
  const m = await TestClient.connect(server.url, 't-mallory', 'malldev1')
  await m.subscribe('room')
  const dev = new Device('mallory', 'malldev1')
  expect(await m.update('room/meta', dev.register('room'))).toBe('ack')
  let acks = 0
  let closed = false
  void m.closed.then(() => {
    closed = true
  })
  // The refusal budget may close the attacker's connection: that ends the flood too.
  for (let i = 0; i < 1500 && !closed; i++) {
    const len = 1000 + i
    const wall = Date.now() - 1000
    const doc = `room/low/${Math.floor(wall / len)}~${len}`
    const sent = m.update(doc, dev.message(doc, 'x', { stamp: { wall, counter: 0 } }).update)
    if ((await Promise.race([sent, m.closed.then(() => 'closed')])) === 'ack') acks++
  }
  const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
  const manifest = await bob.subscribe('room')
  // Before the cap: 1500 acks in 3.6 s, 1501 docs stored, 1501 entries in a newcomer's manifest.
  expect(acks).toBeLessThan(200)
  expect(manifest.changes.length).toBeLessThan(200)
}, 60_000)
