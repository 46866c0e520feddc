// Red team 2 (exhaustion): a member overwrites its own receipt (its own key, so allowed) many times
// with big values. Does a newcomer's sync of the receipts doc grow with every overwrite?
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { Device, laneDoc, startServer, TestClient } from '../helpers.js'

it('overwriting one own receipt many times does not grow what a newcomer downloads', async () => {
  const server = await startServer()
  const m = await TestClient.connect(server.url, 't-mallory', 'malldev1')
  await m.subscribe('room')
  const dev = new Device('mallory', 'malldev1')
  expect(await m.update('room/meta', dev.register('room'))).toBe('ack')
  const doc = laneDoc('room', 'receipts')
  const big = 'r'.repeat(400_000)
  let acks = 0
  const codes: string[] = []
  for (let i = 0; i < 40; i++) {
    const answer = await m.update(
      doc,
      dev.change(doc, (d) => d.getMap('r').set('malldev1', { seen: big, i })),
    )
    if (answer === 'ack') acks++
    else codes.push(answer.code)
  }
  await server.idle()
  const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
  await bob.subscribe('room')
  const ydoc = new Y.Doc()
  const step2 = bob.later((f) => f.type === 'sync-step2' && f.doc === doc)
  bob.send({ type: 'sync-step1', doc, stateVector: Y.encodeStateVector(ydoc) })
  const bytes = ((await step2) as { update: Uint8Array }).update.length
  console.log(
    `40 overwrites of 400 KB: ${acks} acks, refusals ${codes.join(',')}; newcomer step 2 ${(bytes / 1e6).toFixed(2)} MB`,
  )
  expect(bytes).toBeLessThan(2 * 400_000)
}, 30_000)
