import { PRIORITIES, type Priority } from '@tidings/core'
import fc from 'fast-check'
import { checkNumber } from './checks.js'
import type { LinkConditions } from './link.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** What a device does to one message in a race. */
export type RaceAction = 'edit' | 'delete' | 'pin' | 'unpin'

/**
 * One step of a schedule. Numbers that choose something (`device`, `conversation`, `pick`) are taken
 * modulo what there is to choose from when the step runs, so every schedule is valid and shrinks.
 */
export type Operation =
  | { op: 'send'; device: number; conversation: number; priority: Priority; reply: number | null }
  | {
      op: 'edit' | 'delete' | 'pin' | 'unpin' | 'markRead'
      device: number
      conversation: number
      pick: number
    }
  /** Several devices act on one message with nothing delivered in between. */
  | { op: 'race'; conversation: number; pick: number; moves: { device: number; action: RaceAction }[] }
  /** `retainedFrom` moves to `back` periods before the device's now. */
  | { op: 'retain'; device: number; conversation: number; back: number }
  | { op: 'loadOlder'; device: number; conversation: number }
  | { op: 'offline' | 'online' | 'crash'; device: number }
  /** The device's clock moves by `ms`: forward or back, as a user or NTP would move it. */
  | { op: 'jump'; device: number; ms: number }
  /** `device` imports the export `from` wrote of the conversation. */
  | { op: 'import'; device: number; from: number; conversation: number }
  | { op: 'partition'; device: number; other: number | 'server'; oneWay: boolean }
  | { op: 'heal' }
  | { op: 'link'; device: number; conditions: LinkConditions }
  | { op: 'advance'; ms: number }
  | { op: 'settle' }

/** The name of an operation, its `op`. */
export type OperationKind = Operation['op']

/** Which operations a schedule draws, and how often (relative weights; 0 leaves one out). */
export type OperationWeights = Partial<Record<OperationKind, number>>

/** Every operation, weighted so that messages dominate and faults come often enough to matter. */
export const DEFAULT_WEIGHTS: Readonly<Record<OperationKind, number>> = {
  send: 8,
  edit: 1,
  delete: 1,
  pin: 1,
  unpin: 1,
  markRead: 2,
  race: 1,
  retain: 1,
  loadOlder: 1,
  offline: 1,
  online: 2,
  crash: 1,
  jump: 1,
  import: 1,
  partition: 1,
  heal: 1,
  link: 1,
  advance: 3,
  settle: 1,
}

const pick: fc.Arbitrary<number> = fc.nat()
const conversation = fc.nat(7)

/** Link conditions from perfect to bad: up to 10 % loss, 10 % duplicates, reorder and a slow link. */
export const linkConditions = (): fc.Arbitrary<LinkConditions> =>
  fc.record(
    {
      latencyMs: fc.oneof(fc.nat(300), fc.tuple(fc.nat(50), fc.integer({ min: 50, max: 400 }))),
      loss: fc.double({ min: 0, max: 0.1, noNaN: true }),
      duplicate: fc.double({ min: 0, max: 0.1, noNaN: true }),
      reorder: fc.nat(8),
      bytesPerSecond: fc.integer({ min: 4_000, max: 1_000_000 }),
    },
    { requiredKeys: [] },
  )

/** A clock error: up to a day either way, a boundary's worth, or a few seconds. */
export const skew = (): fc.Arbitrary<number> =>
  fc.oneof(
    fc.integer({ min: -DAY, max: DAY }),
    fc.constantFrom(-DAY, DAY, -HOUR, HOUR, -30_000, 30_000, 0),
    fc.integer({ min: -2 * MINUTE, max: 2 * MINUTE }),
  )

/** A time step: mostly seconds, so period boundaries are crossed slowly as well as in leaps. */
const step = () => fc.oneof(fc.integer({ min: 1, max: 90_000 }), fc.integer({ min: 1, max: 3 * HOUR }))

const builders: Record<OperationKind, () => fc.Arbitrary<Operation>> = {
  send: () =>
    fc.record({
      op: fc.constant('send' as const),
      device: pick,
      conversation,
      priority: fc.constantFrom(...PRIORITIES),
      reply: fc.option(fc.nat(), { nil: null }) as fc.Arbitrary<number | null>,
    }),
  edit: () => fc.record({ op: fc.constant('edit' as const), device: pick, conversation, pick }),
  delete: () => fc.record({ op: fc.constant('delete' as const), device: pick, conversation, pick }),
  pin: () => fc.record({ op: fc.constant('pin' as const), device: pick, conversation, pick }),
  unpin: () => fc.record({ op: fc.constant('unpin' as const), device: pick, conversation, pick }),
  markRead: () => fc.record({ op: fc.constant('markRead' as const), device: pick, conversation, pick }),
  race: () =>
    fc.record({
      op: fc.constant('race' as const),
      conversation,
      pick,
      moves: fc.array(
        fc.record({ device: pick, action: fc.constantFrom<RaceAction>('edit', 'delete', 'pin', 'unpin') }),
        { minLength: 2, maxLength: 4 },
      ),
    }),
  retain: () =>
    fc.record({
      op: fc.constant('retain' as const),
      device: pick,
      conversation,
      back: fc.integer({ min: 1, max: 40 }),
    }),
  loadOlder: () => fc.record({ op: fc.constant('loadOlder' as const), device: pick, conversation }),
  offline: () => fc.record({ op: fc.constant('offline' as const), device: pick }),
  online: () => fc.record({ op: fc.constant('online' as const), device: pick }),
  crash: () => fc.record({ op: fc.constant('crash' as const), device: pick }),
  jump: () =>
    fc.record({
      op: fc.constant('jump' as const),
      device: pick,
      ms: fc.oneof(fc.integer({ min: -DAY, max: DAY }), fc.constantFrom(-HOUR, HOUR, -DAY, DAY)),
    }),
  import: () => fc.record({ op: fc.constant('import' as const), device: pick, from: pick, conversation }),
  partition: () =>
    fc.record({
      op: fc.constant('partition' as const),
      device: pick,
      other: fc.oneof(fc.constant('server' as const), pick),
      oneWay: fc.boolean(),
    }),
  heal: () => fc.constant({ op: 'heal' as const }),
  link: () => fc.record({ op: fc.constant('link' as const), device: pick, conditions: linkConditions() }),
  advance: () => fc.record({ op: fc.constant('advance' as const), ms: step() }),
  settle: () => fc.constant({ op: 'settle' as const }),
}

/** Refuses weights fast-check would misread: unknown kinds, negative or non-finite weights, all 0. */
const checkWeights = (weights: OperationWeights, merged: Record<OperationKind, number>) => {
  for (const [kind, weight] of Object.entries(weights)) {
    if (!(kind in DEFAULT_WEIGHTS)) {
      throw new RangeError(
        `weights: ${kind} is not an operation (${Object.keys(DEFAULT_WEIGHTS).join(', ')}).`,
      )
    }
    checkNumber(weight, `weights.${kind}`, { min: 0 })
  }
  if (Object.values(merged).every((weight) => weight === 0)) {
    throw new RangeError('weights: every operation has weight 0; give at least one a positive weight.')
  }
}

/** One operation, drawn by weight (default `DEFAULT_WEIGHTS`). */
export const operation = (weights: OperationWeights = {}): fc.Arbitrary<Operation> => {
  const merged = { ...DEFAULT_WEIGHTS, ...weights }
  checkWeights(weights, merged)
  const arbitraries = (Object.keys(builders) as OperationKind[])
    .filter((kind) => merged[kind] > 0)
    .map((kind) => ({ weight: merged[kind], arbitrary: builders[kind]() }))
  return fc.oneof(...arbitraries)
}

/** A list of operations. */
export const operations = (
  options: { weights?: OperationWeights; minLength?: number; maxLength?: number } = {},
): fc.Arbitrary<Operation[]> =>
  // size 'max': lengths spread over the whole range, not fast-check's default bias to short lists.
  fc.array(operation(options.weights), {
    minLength: options.minLength ?? 1,
    maxLength: options.maxLength ?? 40,
    size: 'max',
  })
