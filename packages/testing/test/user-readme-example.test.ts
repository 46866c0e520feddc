// packages/testing/README.md's example, pasted into a test as a user would.
import { assertConverged, createSimulatedNetwork } from '@tidings/testing'
import { test } from 'vitest'

test('the README example runs as written', async () => {
  const net = createSimulatedNetwork({ seed: 7 }) // one seeded scheduler: timers, clocks, links
  const alice = await net.device('alice') // a real client on memory storage
  const phone = await net.device('alice', { skewMs: -30_000 }) // a second device of alice, 30 s slow
  const bob = await net.device('bob', { skewMs: 86_400_000 }) // a day fast
  net.link(alice, { latencyMs: [5, 200], loss: 0.05, duplicate: 0.05, reorder: 8, bytesPerSecond: 32_000 })
  await (await alice.client.open('room')).send({ text: 'hello' })
  net.partition(alice, bob)
  net.partition(alice, 'server', { oneWay: true })
  net.heal()
  await net.crash(phone)
  await net.restart(phone) // from the same storage
  net.advance(3_600_000) // every clock and timer
  await net.settle() // until no frame is in flight
  await assertConverged(net, 'room') // throws a readable diff with the seed
  await net.close()
})
