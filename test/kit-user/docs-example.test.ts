// docs/testing.md's example, copied as a user would, with vitest's `test` as the guide says.
import assert from 'node:assert/strict'
import type { Client } from '@tidings/core'
import { arbitraries, assertConverged, createSimulatedNetwork } from '@tidings/testing'
import fc from 'fast-check'
import { test } from 'vitest'

// The app code under test.
async function postOrder(client: Client, room: string, text: string) {
  const convo = await client.open(room)
  return convo.send({ text }, { priority: text.startsWith('!') ? 'urgent' : 'normal' })
}

test('orders posted across a flaky link and a crash reach everyone once', async () => {
  const net = createSimulatedNetwork({ seed: 42 })
  const desk = await net.device('dispatcher')
  const truck = await net.device('driver', { skewMs: -45_000 }) // its clock runs 45 s slow
  const phone = await net.device('driver', { skewMs: 86_400_000 }) // and this one a day fast
  net.link(truck, { latencyMs: [20, 400], loss: 0.05, duplicate: 0.05, reorder: 4, bytesPerSecond: 16_000 })

  net.offline(truck) // a tunnel
  for (let i = 0; i < 20; i++) await postOrder(truck.client, 'room', `pallet ${i} loaded`)
  await postOrder(desk.client, 'room', '!reroute to dock 4')
  await net.crash(phone)
  net.advance(60_000)
  net.online(truck)
  await net.restart(phone)
  await net.settle()

  await assertConverged(net, 'room') // throws a readable diff with the seed
  const seen = (await desk.client.open('room')).messages()
  assert.equal(seen.length, 21)
  assert.equal(new Set(seen.map((m) => m.id)).size, 21) // nothing shown twice
  await net.close()
})

test('any schedule of operations converges and keeps every invariant', async () => {
  await fc.assert(
    fc.asyncProperty(arbitraries.schedule({ maxOperations: 25 }), async (plan) => {
      const figures = await arbitraries.runSchedule(plan) // throws on any broken invariant
      assert.equal(figures.lost, 0)
    }),
    { numRuns: 25, seed: 1 }, // a failure prints fast-check's seed and path: pass them back to replay
  )
})
