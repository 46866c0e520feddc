import fc from 'fast-check'
import { checkNumber } from './checks.js'
import { checkStep, type Figures, finish } from './invariants.js'
import { createSimulatedNetwork } from './network.js'
import type { DeviceOptions, SimulatedNetwork, SimulatedNetworkOptions } from './network-types.js'
import {
  DEFAULT_WEIGHTS,
  linkConditions,
  type Operation,
  type OperationWeights,
  operation,
  operations,
  skew,
} from './operations.js'
import { apply, newRecord, type RunRecord } from './runner.js'

const MINUTE = 60_000

/** A whole run: the network's seed and start, its devices and what they do. */
export interface Schedule {
  readonly seed: number
  /** Virtual start time: near a day boundary, which is a boundary of every period length. */
  readonly start: number
  readonly periodMs: number
  /**
   * Messages each device loads on `open()` and per `loadOlder()` (default 5). Small screens leave
   * most periods unloaded, where writes into the past and late arrivals are hardest to show right.
   */
  readonly firstScreen?: number
  readonly devices: readonly { readonly user: string; readonly skewMs: number; readonly periodMs?: number }[]
  readonly operations: readonly Operation[]
}

/** Options of `arbitraries.schedule`: the size and mix of generated runs. */
export interface ScheduleOptions {
  /** Devices per run (default 2 to 5). */
  readonly devices?: { readonly min: number; readonly max: number }
  /** Users the devices belong to, round robin (default up to 3). */
  readonly users?: number
  /** Period lengths to draw from (default 1 min, 10 min, 1 h, 1 day: short ones cross many boundaries). */
  readonly periodMs?: readonly number[]
  /**
   * Each device draws its own period length from `periodMs` (default false: one per schedule), as
   * devices that create a conversation offline with different settings would.
   */
  readonly mixedPeriods?: boolean
  /** Clock errors (default: up to a day either way); false for exact clocks. */
  readonly skew?: boolean
  readonly weights?: OperationWeights
  /** Operations per run (default 10 to 40). */
  readonly minOperations?: number
  readonly maxOperations?: number
}

/** Refuses options fast-check would fail on with its own words, or silently ignore. */
const checkScheduleOptions = (options: ScheduleOptions) => {
  const { devices, users, periodMs, minOperations, maxOperations } = options
  if (devices !== undefined) {
    checkNumber(devices.min, 'schedule: devices.min', { integer: true, min: 1 })
    checkNumber(devices.max, 'schedule: devices.max', { integer: true, min: 1 })
    if (devices.min > devices.max) {
      throw new RangeError(`schedule: devices.min (${devices.min}) is above devices.max (${devices.max}).`)
    }
  }
  if (users !== undefined) checkNumber(users, 'schedule: users', { integer: true, min: 1 })
  if (periodMs !== undefined) {
    if (periodMs.length === 0)
      throw new RangeError('schedule: periodMs is empty; give at least one period length.')
    for (const ms of periodMs) checkNumber(ms, 'schedule: each periodMs', { integer: true, above: 0 })
  }
  if (minOperations !== undefined)
    checkNumber(minOperations, 'schedule: minOperations', { integer: true, min: 0 })
  if (maxOperations !== undefined)
    checkNumber(maxOperations, 'schedule: maxOperations', { integer: true, min: 1 })
  if (minOperations !== undefined && maxOperations !== undefined && minOperations > maxOperations) {
    throw new RangeError(
      `schedule: minOperations (${minOperations}) is above maxOperations (${maxOperations}).`,
    )
  }
}

/**
 * Schedules of every operation over 2–5 devices of up to 3 users with skewed clocks and short periods.
 * @remarks Options out of range throw a RangeError naming the option.
 */
export const schedule = (options: ScheduleOptions = {}): fc.Arbitrary<Schedule> => {
  checkScheduleOptions(options)
  const devices = options.devices ?? { min: 2, max: 5 }
  const users = options.users ?? 3
  const periodMs = fc.constantFrom(...(options.periodMs ?? [MINUTE, 10 * MINUTE, 60 * MINUTE, 1440 * MINUTE]))
  return fc.record({
    seed: fc.integer(),
    start: fc.integer({ min: -2 * MINUTE, max: 2 * MINUTE }).map((offset) => Date.UTC(2026, 2, 1) + offset),
    periodMs,
    firstScreen: fc.constantFrom(1, 2, 5),
    devices: fc
      .array(fc.tuple(options.skew === false ? fc.constant(0) : skew(), periodMs), {
        minLength: devices.min,
        maxLength: devices.max,
      })
      .map((drawn) =>
        drawn.map(([skewMs, period], i) => ({
          user: `user${i % users}`,
          skewMs,
          ...(options.mixedPeriods ? { periodMs: period } : {}),
        })),
      ),
    operations: operations({
      ...(options.weights ? { weights: options.weights } : {}),
      minLength: Math.min(options.minOperations ?? 10, options.maxOperations ?? 40),
      maxLength: options.maxOperations ?? 40,
    }),
  })
}

/** Builds the network a schedule runs on, with its devices online. */
export interface ScheduleNetworkOptions extends SimulatedNetworkOptions {
  /** Options of each device, by index in the schedule (storage, link, period length …). */
  readonly device?: (index: number) => DeviceOptions
}

/** Builds the simulated network and devices a schedule describes. */
export const network = async (
  plan: Schedule,
  options: ScheduleNetworkOptions = {},
): Promise<SimulatedNetwork> => {
  const net = createSimulatedNetwork({
    seed: plan.seed,
    start: plan.start,
    conversations: ['room', 'side'],
    ...options,
    client: {
      firstScreen: plan.firstScreen ?? 5,
      pageSize: plan.firstScreen ?? 5,
      ...options.client,
      periodMs: plan.periodMs,
    },
  })
  for (const [i, device] of plan.devices.entries()) {
    await net.device(device.user, {
      ...options.device?.(i),
      skewMs: device.skewMs,
      ...(device.periodMs === undefined ? {} : { periodMs: device.periodMs }),
    })
  }
  return net
}

/**
 * Applies operations in order, checking after each one what must always hold (`checkStep`).
 * Returns the record `finish` checks the end against.
 */
export const run = async (
  net: SimulatedNetwork,
  ops: readonly Operation[],
  record: RunRecord = newRecord(),
): Promise<RunRecord> => {
  for (const op of ops) {
    await apply(net, op, record)
    await checkStep(net, record)
  }
  return record
}

/** The state a model-based run carries between commands. */
export interface Model {
  readonly record: RunRecord
}

class OperationCommand implements fc.AsyncCommand<Model, SimulatedNetwork> {
  constructor(readonly operation: Operation) {}
  check(): boolean {
    return true
  }
  async run(model: Model, net: SimulatedNetwork): Promise<void> {
    await apply(net, this.operation, model.record)
    await checkStep(net, model.record)
  }
  toString(): string {
    return JSON.stringify(this.operation)
  }
}

/** Operations as fast-check commands, for `fc.asyncModelRun` (see `modelRun`). */
export const commands = (
  options: { weights?: OperationWeights; maxCommands?: number } = {},
): fc.Arbitrary<Iterable<fc.AsyncCommand<Model, SimulatedNetwork>>> =>
  fc.commands([operation(options.weights).map((op) => new OperationCommand(op))], {
    maxCommands: options.maxCommands ?? 40,
  })

/**
 * Runs commands on a network as a fast-check model run (invariants after each step), then
 * `finish`es it. Returns the figures.
 */
export const modelRun = async (
  net: SimulatedNetwork,
  cmds: Iterable<fc.AsyncCommand<Model, SimulatedNetwork>>,
): Promise<Figures> => {
  const model: Model = { record: newRecord() }
  await fc.asyncModelRun(() => ({ model, real: net }), cmds)
  return finish(net, model.record)
}

/** Runs a whole schedule: network, operations, end checks; closes the network. Returns the figures. */
export const runSchedule = async (plan: Schedule, options: ScheduleNetworkOptions = {}): Promise<Figures> => {
  const net = await network(plan, options)
  try {
    return await finish(net, await run(net, plan.operations))
  } finally {
    await net.close()
  }
}

/**
 * fast-check arbitraries and runners for Tidings conversations: draw schedules of operations
 * (every send lane, replies, edits, deletes, pins, reads, retention, offline and online, crashes,
 * clock jumps, imports, partitions, link faults), apply them to a simulated network, and check
 * the invariants of DESIGN.md after each step and at the end.
 */
export const arbitraries = {
  operation,
  operations,
  schedule,
  linkConditions,
  skew,
  commands,
  network,
  run,
  finish,
  modelRun,
  runSchedule,
  DEFAULT_WEIGHTS,
}
