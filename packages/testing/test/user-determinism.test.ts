// The same seed and the same steps must replay identically; different seeds must differ.
import { arbitraries, assertConverged, createSimulatedNetwork } from '@tidings/testing'
import fc from 'fast-check'
import { expect, test } from 'vitest'

// A faulty afternoon: lossy, duplicating, reordering, throttled links, a partition, a crash.
const afternoon = async (seed: number) => {
  const net = createSimulatedNetwork({ seed })
  const alice = await net.device('alice')
  const bob = await net.device('bob')
  const carol = await net.device('carol', { skewMs: 5_000 })
  net.link(alice, { latencyMs: [5, 300], loss: 0.1, duplicate: 0.1, reorder: 3, bytesPerSecond: 8_000 })
  net.link(bob, { latencyMs: [1, 50], loss: 0.05, reorder: 2 })
  for (let i = 0; i < 10; i++) {
    await (await alice.client.open('room')).send({ i, from: 'alice' })
    await (await bob.client.open('room')).send({ i, from: 'bob' }, { priority: i % 3 ? 'normal' : 'urgent' })
    net.advance(37)
  }
  net.partition(carol, 'server')
  await (await carol.client.open('room')).send({ from: 'carol' })
  await net.crash(bob)
  net.advance(2_000)
  net.heal()
  await net.restart(bob)
  await net.settle()
  await assertConverged(net, 'room')
  const shown = (await alice.client.open('room')).messages().map((m) => `${m.id}@${m.sentAt}:${m.status}`)
  const run = {
    shown,
    stats: { ...net.stats },
    now: net.now,
    trace: [...net.trace],
    ids: net.devices.map((d) => d.deviceId),
  }
  await net.close()
  return run
}

test('one seed, one run (alone or side by side, no shared global state); another seed differs', async () => {
  const first = await afternoon(5)
  expect(first.stats.lost).toBeGreaterThan(0) // the faults did happen
  const [left, right, other] = await Promise.all([afternoon(5), afternoon(5), afternoon(6)])
  expect(left).toEqual(first)
  expect(right).toEqual(first)
  expect(other!.ids).not.toEqual(first.ids)
  expect(other!.stats).not.toEqual(first.stats)
})

test('a drawn schedule replays to the same figures', async () => {
  const [plan] = fc.sample(arbitraries.schedule({ maxOperations: 20 }), { numRuns: 1, seed: 9 })
  if (!plan) throw new Error('fast-check drew no schedule')
  expect(await arbitraries.runSchedule(plan)).toEqual(await arbitraries.runSchedule(plan))
})
