import fc from 'fast-check'

export const MINUTE = 60 * 1000
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR
/** Conversations every device of a run opens: two, so per-device state shared across them is exercised. */
export const CONVERSATIONS = ['prop', 'prop2'] as const

/** What one device does to one message in a `race`. */
export type RaceAction = 'edit' | 'delete' | 'pin' | 'unpin'

/** One step of a run; numbers are picks, reduced modulo whatever they choose from. */
export type Op =
  | { op: 'send'; dev: number; conv: number; priority: number; reply: number | null }
  | { op: 'edit' | 'delete' | 'pin' | 'unpin' | 'read'; dev: number; conv: number; pick: number }
  /** Several devices act on the same message with no delivery in between. */
  | { op: 'race'; conv: number; pick: number; moves: { dev: number; action: RaceAction }[] }
  /** A device moves `retainedFrom` to `back` periods before now. */
  | { op: 'retain'; dev: number; conv: number; back: number }
  | { op: 'offline' | 'online' | 'restart'; dev: number }
  | { op: 'older'; dev: number; conv: number }
  | { op: 'advance'; ms: number }
  | { op: 'deliver'; picks: number[]; duplicate: boolean }

const dev = fc.nat()
const conv = fc.nat(1)

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('send' as const),
      dev,
      conv,
      priority: fc.nat(3),
      reply: fc.option(fc.nat()),
    }),
  },
  ...(['edit', 'delete', 'pin', 'unpin'] as const).map((op) => ({
    weight: 1,
    arbitrary: fc.record({ op: fc.constant(op), dev, conv, pick: fc.nat() }),
  })),
  { weight: 2, arbitrary: fc.record({ op: fc.constant('read' as const), dev, conv, pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('race' as const),
      conv,
      pick: fc.nat(),
      moves: fc.array(
        fc.record({ dev, action: fc.constantFrom<RaceAction>('edit', 'delete', 'pin', 'unpin') }),
        { minLength: 2, maxLength: 4 },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('retain' as const),
      dev,
      conv,
      back: fc.integer({ min: 1, max: 40 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('offline' as const, 'online' as const), dev }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('restart' as const), dev }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('older' as const), dev, conv }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      // Mostly small steps, so periods are crossed a few seconds at a time as well as in leaps.
      ms: fc.oneof(fc.integer({ min: 1, max: 90_000 }), fc.integer({ min: 1, max: 3 * HOUR })),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('deliver' as const),
      picks: fc.array(fc.nat(), { maxLength: 12 }),
      duplicate: fc.boolean(),
    }),
  },
)

/** A device's clock error: a day either way, a period boundary's worth, or a few seconds. */
const skewArb = fc.oneof(
  fc.integer({ min: -DAY, max: DAY }),
  fc.constantFrom(-DAY, DAY, -HOUR, HOUR, -30_000, 30_000, 0),
  fc.integer({ min: -2 * MINUTE, max: 2 * MINUTE }),
)

export const scenarioArb = fc.record({
  devices: fc.integer({ min: 2, max: 5 }),
  users: fc.integer({ min: 1, max: 3 }),
  /** Period length: short ones put every skew across many boundaries. */
  periodMs: fc.constantFrom(MINUTE, 10 * MINUTE, HOUR, DAY),
  /** Start this far from a day boundary (a boundary of every period length above). */
  start: fc.integer({ min: -2 * MINUTE, max: 2 * MINUTE }),
  skews: fc.array(skewArb, { minLength: 5, maxLength: 5 }),
  seed: fc.integer(),
  ops: fc.array(opArb, { minLength: 1, maxLength: 40 }),
})

export type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never

/** A seeded PRNG (mulberry32) so ids and clientIDs replay with the fast-check seed. */
export const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
