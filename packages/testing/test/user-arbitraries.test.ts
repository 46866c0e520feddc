// The arbitraries in a user's own fc.assert: schedules with custom weights, the model-based run,
// and what a failing property prints (and whether that replays).
import { arbitraries, createSimulatedNetwork, type ScheduleOptions } from '@tidings/testing'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { thrown } from './user-helpers.js'

const clean = { lost: 0, duplicates: 0, hidden: 0, pending: 0, orderViolations: 0, statusRegressions: 0 }

test('partition- and crash-heavy schedules converge with clean figures', async () => {
  const weights = { partition: 6, heal: 2, crash: 6, offline: 3, online: 3, link: 4, retain: 0, import: 0 }
  await fc.assert(
    fc.asyncProperty(
      arbitraries.schedule({ maxOperations: 25, weights, mixedPeriods: true }),
      async (plan) => {
        expect(await arbitraries.runSchedule(plan)).toMatchObject(clean)
      },
    ),
    { numRuns: 6, seed: 21 },
  )
})

test('the model-based run on a network I built', async () => {
  let seed = 0
  await fc.assert(
    fc.asyncProperty(
      arbitraries.commands({ maxCommands: 20, weights: { crash: 5, jump: 4 } }),
      async (cmds) => {
        const net = createSimulatedNetwork({ seed: seed++ })
        await net.device('dispatcher')
        await net.device('driver', { skewMs: -45_000 })
        await net.device('driver', { skewMs: 86_400_000 })
        expect(await arbitraries.modelRun(net, cmds)).toMatchObject(clean)
      },
    ),
    { numRuns: 6, seed: 2 },
  )
})

// A property that must fail (fewer than 4 acknowledged messages, while schedules send more):
// the output must carry fast-check's seed and path, a counterexample, and replay from them.
test('a failing schedule property prints seed, path and schedule, and replays from them', async () => {
  const property = fc.asyncProperty(arbitraries.schedule({ maxOperations: 12 }), async (plan) => {
    const figures = await arbitraries.runSchedule(plan)
    if (figures.acknowledged > 3) throw new Error(`acknowledged ${figures.acknowledged}`)
  })
  const error = await thrown(() => fc.assert(property, { numRuns: 20, seed: 4 }))
  const message = error?.message ?? ''
  expect(message).toMatch(/seed: 4, path: "[\d:]+"/)
  expect(message).toMatch(/Counterexample: \[\{"seed":\d+,"start":\d+/)
  const path = /path: "([\d:]+)"/.exec(message)?.[1]
  if (!path) throw new Error(`no path in: ${message}`)
  const replayed = await thrown(() => fc.assert(property, { seed: 4, path, numRuns: 1 }))
  expect(replayed?.message).toContain(message.split('Counterexample: ')[1]?.split('\n')[0])
})

test('a failing model run prints the commands and a replayPath', async () => {
  const error = await thrown(() =>
    fc.assert(
      fc.asyncProperty(arbitraries.commands({ maxCommands: 15 }), async (cmds) => {
        const net = createSimulatedNetwork({ seed: 77 })
        await net.device('a')
        await net.device('b')
        expect((await arbitraries.modelRun(net, cmds)).acknowledged).toBeLessThan(2)
      }),
      { numRuns: 10, seed: 3 },
    ),
  )
  expect(error?.message).toMatch(/Counterexample: \[\{"op":"send"/)
  expect(error?.message).toMatch(/replayPath="[^"]+"/)
})

// FINDING (unhelpful error), fixed: bad schedule options failed with fast-check's internals
// ("fc.oneof expects at least one weighted arbitrary", "fc.integer maximum value should be equal
// or greater than the minimum one", "fc.constantFrom expects at least one parameter"), or were
// silently ignored (negative weight, minOperations > maxOperations). Now a RangeError names the
// option before fast-check sees it.
describe('bad schedule options are refused with an error naming the option', () => {
  const zero = Object.fromEntries(Object.keys(arbitraries.DEFAULT_WEIGHTS).map((k) => [k, 0]))
  const bad: [string, ScheduleOptions, RegExp][] = [
    ['every weight 0', { weights: zero }, /weights/],
    ['a negative weight', { weights: { send: -3 } }, /send/],
    ['devices min > max', { devices: { min: 4, max: 2 } }, /devices/],
    ['periodMs empty', { periodMs: [] }, /periodMs/],
    ['minOperations > maxOperations', { minOperations: 20, maxOperations: 5 }, /Operations/],
  ]
  test.each(bad)('%s', (_, options, names) => {
    expect(() => fc.sample(arbitraries.schedule(options), { numRuns: 1, seed: 1 })).toThrow(names)
    expect(() => arbitraries.schedule(options)).toThrow(RangeError)
  })
})

// FINDING (unhelpful error), fixed: when the server refused a device's writes, finish() reported
// "<id> still pending" but not the refusals the device recorded (device.errors holds
// permission/denied), which are the cause. The end report now lists each device's errors.
test('an end-of-run failure names the refusals that caused it', async () => {
  const net = createSimulatedNetwork({ seed: 5, accept: () => 'permission/denied' })
  await net.device('alice')
  const record = await arbitraries.run(net, [
    { op: 'send', device: 0, conversation: 0, priority: 'urgent', reply: null },
    { op: 'advance', ms: 5_000 },
  ])
  const error = await thrown(() => arbitraries.finish(net, record))
  expect(error?.message).toMatch(/still pending/)
  expect(error?.message).toMatch(/Errors the devices reported:\n {2}alice#1: permission\/denied/)
  await net.close()
})

// FINDING (docs), fixed: the runner's trace lines were raw operations ({"op":"send","device":7,…})
// whose numbers are taken modulo what exists when the step runs. They now name what each step
// resolved to: the device, the conversation, the message.
test("the runner's trace names devices, conversations and messages", async () => {
  const net = createSimulatedNetwork({ seed: 6, conversations: ['room', 'side'] })
  await net.device('alice')
  await net.device('bob')
  await arbitraries.run(net, [
    { op: 'send', device: 3, conversation: 1, priority: 'urgent', reply: null },
    { op: 'settle' },
    { op: 'markRead', device: 0, conversation: 1, pick: 4 },
    { op: 'crash', device: 2 },
  ])
  const [sent] = (await net.devices[1]!.client.open('side')).messages()
  expect(net.trace.slice(2)).toEqual([
    'send by bob#1 in side (urgent)',
    'settle',
    `markRead of ${sent!.id} by alice#1 in side`,
    'crash alice#1',
    'restart alice#1',
  ])
  await net.close()
})
