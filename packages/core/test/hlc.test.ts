import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isStamp } from '../src/hlc.js'
import { compareStamps, HybridClock, MAX_DRIFT, type Stamp } from '../src/index.js'

/** Replays a failing run: FC_SEED=<seed> FC_PATH=<path> npx vitest run <this file>. */
const replay = {
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
  ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
}

const T0 = Date.UTC(2026, 0, 5, 12)
const DAY = 24 * 60 * 60 * 1000

/** A physical clock the test sets by hand. */
const manual = (start = T0) => {
  let now = start
  return {
    now: () => now,
    set: (ms: number) => {
      now = ms
    },
  }
}

const stampArb = fc.record({ wall: fc.integer({ min: 0, max: 2 * T0 }), counter: fc.nat(1000) })

type Op =
  | { op: 'tick' }
  | { op: 'move'; ms: number }
  | { op: 'receive' | 'after'; dWall: number; counter: number }

/** Physical moves include standing still and large backward jumps; remote stamps range from far
 * behind to a day ahead, so the clamp is exercised both ways. */
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ op: 'tick' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('move' as const),
      ms: fc.oneof(fc.constant(0), fc.integer({ min: -DAY, max: DAY }), fc.integer({ min: -5, max: 5 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom('receive' as const, 'after' as const),
      dWall: fc.oneof(
        fc.integer({ min: -DAY, max: 2 * DAY }),
        fc.integer({ min: MAX_DRIFT - 3, max: MAX_DRIFT + 3 }),
      ),
      counter: fc.nat(50),
    }),
  },
)

describe('compareStamps', () => {
  it('orders by wall, then counter', () => {
    expect(compareStamps({ wall: 1, counter: 9 }, { wall: 2, counter: 0 })).toBeLessThan(0)
    expect(compareStamps({ wall: 2, counter: 0 }, { wall: 1, counter: 9 })).toBeGreaterThan(0)
    expect(compareStamps({ wall: 2, counter: 1 }, { wall: 2, counter: 2 })).toBeLessThan(0)
    expect(compareStamps({ wall: 2, counter: 2 }, { wall: 2, counter: 2 })).toBe(0)
  })

  it('is antisymmetric and agrees with the lexicographic order (property)', () => {
    fc.assert(
      fc.property(stampArb, stampArb, (a, b) => {
        const c = compareStamps(a, b)
        expect(Math.sign(c)).toBe(-Math.sign(compareStamps(b, a)))
        const lex = a.wall !== b.wall ? a.wall - b.wall : a.counter - b.counter
        expect(Math.sign(c)).toBe(Math.sign(lex))
      }),
      replay,
    )
  })
})

describe('isStamp', () => {
  it('accepts non-negative safe integers', () => {
    expect(isStamp({ wall: 0, counter: 0 })).toBe(true)
    expect(isStamp({ wall: T0, counter: 12 })).toBe(true)
    expect(isStamp({ wall: Number.MAX_SAFE_INTEGER, counter: Number.MAX_SAFE_INTEGER })).toBe(true)
  })

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a number', 5],
    ['a string', '1.0'],
    ['an empty object', {}],
    ['a missing counter', { wall: 1 }],
    ['a missing wall', { counter: 1 }],
    ['a negative wall', { wall: -1, counter: 0 }],
    ['a negative counter', { wall: 1, counter: -1 }],
    ['a fractional wall', { wall: 1.5, counter: 0 }],
    ['a fractional counter', { wall: 1, counter: 0.5 }],
    ['NaN', { wall: Number.NaN, counter: 0 }],
    ['Infinity', { wall: Number.POSITIVE_INFINITY, counter: 0 }],
    ['an unsafe integer', { wall: 2 ** 53, counter: 0 }],
    ['string fields', { wall: '1', counter: '0' }],
  ])('rejects %s', (_name, value) => {
    expect(isStamp(value)).toBe(false)
  })
})

describe('HybridClock', () => {
  it('uses physical time when it moves forward, with counter 0', () => {
    const time = manual()
    const clock = new HybridClock({ now: time.now })
    expect(clock.tick()).toEqual({ wall: T0, counter: 0 })
    time.set(T0 + 5)
    expect(clock.tick()).toEqual({ wall: T0 + 5, counter: 0 })
    expect(clock.last).toEqual({ wall: T0 + 5, counter: 0 })
  })

  it('counts up while physical time stands still', () => {
    const clock = new HybridClock({ now: () => T0 })
    const stamps = Array.from({ length: 1000 }, () => clock.tick())
    stamps.forEach((s, i) => {
      expect(s).toEqual({ wall: T0, counter: i })
    })
  })

  it('keeps increasing when physical time jumps backwards', () => {
    const time = manual()
    const clock = new HybridClock({ now: time.now })
    const a = clock.tick()
    time.set(T0 - DAY)
    const b = clock.tick()
    const c = clock.tick()
    expect(b).toEqual({ wall: T0, counter: 1 })
    expect(compareStamps(c, b)).toBeGreaterThan(0)
    expect(compareStamps(b, a)).toBeGreaterThan(0)
    // Once physical time passes the old wall again, the counter resets.
    time.set(T0 + 1)
    expect(clock.tick()).toEqual({ wall: T0 + 1, counter: 0 })
  })

  it('moves past a received stamp within the drift bound', () => {
    const clock = new HybridClock({ now: () => T0 })
    const remote = { wall: T0 + 30_000, counter: 7 }
    clock.receive(remote)
    expect(clock.last).toEqual(remote)
    const next = clock.tick()
    expect(next).toEqual({ wall: T0 + 30_000, counter: 8 })
    expect(compareStamps(next, remote)).toBeGreaterThan(0)
  })

  it('ignores a received stamp older than its own', () => {
    const clock = new HybridClock({ now: () => T0 })
    clock.tick()
    clock.receive({ wall: T0 - 10, counter: 99 })
    expect(clock.last).toEqual({ wall: T0, counter: 0 })
    expect(clock.tick()).toEqual({ wall: T0, counter: 1 })
  })

  it('accepts a remote stamp exactly at now + maxDrift unclamped', () => {
    const clock = new HybridClock({ now: () => T0 })
    clock.receive({ wall: T0 + MAX_DRIFT, counter: 4 })
    expect(clock.tick()).toEqual({ wall: T0 + MAX_DRIFT, counter: 5 })
  })

  it('is not dragged a day ahead by a device whose clock is a day fast', () => {
    expect(MAX_DRIFT).toBe(60_000)
    const time = manual()
    const clock = new HybridClock({ now: time.now })
    clock.tick()
    const fast = { wall: T0 + DAY, counter: 3 }
    clock.receive(fast)
    expect(clock.last.wall).toBeLessThanOrEqual(T0 + MAX_DRIFT)
    const stamps = [clock.tick(), clock.tick(), clock.tick()]
    for (const s of stamps) {
      expect(s.wall).toBeLessThanOrEqual(T0 + MAX_DRIFT)
      expect(s.counter).toBeLessThanOrEqual(3)
    }
    expect(compareStamps(stamps[1]!, stamps[0]!)).toBeGreaterThan(0)
    expect(compareStamps(stamps[2]!, stamps[1]!)).toBeGreaterThan(0)
    // Receiving it again while time passes still only moves the clock to the new bound.
    time.set(T0 + 1000)
    clock.receive(fast)
    const later = clock.tick()
    expect(later.wall).toBeLessThanOrEqual(T0 + 1000 + MAX_DRIFT)
    expect(compareStamps(later, stamps[2]!)).toBeGreaterThan(0)
  })

  it('honours a custom maxDrift', () => {
    const clock = new HybridClock({ now: () => T0, maxDrift: 10 })
    clock.receive({ wall: T0 + 11, counter: 0 })
    expect(clock.tick()).toEqual({ wall: T0 + 10, counter: 1 })
    const zero = new HybridClock({ now: () => T0, maxDrift: 0 })
    zero.receive({ wall: T0 + 1, counter: 5 })
    expect(zero.tick()).toEqual({ wall: T0, counter: 1 })
  })

  it('after() orders a reply after a parent a day ahead without dragging the clock', () => {
    const clock = new HybridClock({ now: () => T0 })
    const parent = { wall: T0 + DAY, counter: 3 }
    const reply = clock.after(parent)
    expect(reply).toEqual({ wall: T0 + DAY, counter: 4 })
    // The clock moved by the receive rule only: the next message is not stamped a day ahead.
    expect(clock.last.wall).toBeLessThanOrEqual(T0 + MAX_DRIFT)
    expect(clock.tick().wall).toBeLessThanOrEqual(T0 + MAX_DRIFT)
    // A parent within the bound: the reply is an ordinary tick after it.
    const near = { wall: T0 + 30_000, counter: 0 }
    const r2 = clock.after(near)
    expect(compareStamps(r2, near)).toBeGreaterThan(0)
    expect(clock.last).toEqual(r2)
  })

  it('clamp() takes back a lead the clock gave itself while its physical time ran fast', () => {
    const time = manual(T0 + DAY)
    const clock = new HybridClock({ now: time.now })
    const fast = clock.tick()
    expect(clock.isAhead(fast)).toBe(false)
    time.set(T0)
    expect(clock.isAhead(fast)).toBe(true)
    clock.clamp()
    expect(clock.last.wall).toBe(T0 + MAX_DRIFT)
    expect(clock.isAhead(clock.tick())).toBe(false)
  })

  it('restored last keeps a restart from going back', () => {
    const before = new HybridClock({ now: () => T0 })
    for (let i = 0; i < 5; i++) before.tick()
    const saved = JSON.parse(JSON.stringify(before.last)) as Stamp
    // The device restarts with its physical clock set an hour back.
    const after = new HybridClock({ now: () => T0 - 3_600_000, last: saved })
    expect(after.last).toEqual(saved)
    const next = after.tick()
    expect(compareStamps(next, saved)).toBeGreaterThan(0)
    expect(next).toEqual({ wall: T0, counter: 5 })
  })

  it('starts from the zero stamp by default', () => {
    expect(new HybridClock({ now: () => T0 }).last).toEqual({ wall: 0, counter: 0 })
    const epoch = new HybridClock({ now: () => 0 })
    expect(epoch.tick()).toEqual({ wall: 0, counter: 1 })
  })

  it('defaults to Date.now', () => {
    const before = Date.now()
    const wall = new HybridClock().tick().wall
    expect(wall).toBeGreaterThanOrEqual(before)
    expect(wall).toBeLessThanOrEqual(Date.now())
  })

  it('offset corrects physical time, and floors fractions', () => {
    const clock = new HybridClock({ now: () => T0 + 0.7 })
    expect(clock.physical()).toBe(T0)
    clock.offset = 5000.5
    expect(clock.physical()).toBe(T0 + 5001)
    expect(clock.tick()).toEqual({ wall: T0 + 5001, counter: 0 })
    // The drift bound is measured from corrected time.
    clock.receive({ wall: T0 + 5001 + MAX_DRIFT + 100, counter: 0 })
    expect(clock.last.wall).toBe(T0 + 5001 + MAX_DRIFT)
    // A negative offset never takes the clock back.
    clock.offset = -DAY
    expect(clock.physical()).toBe(T0 - DAY)
    expect(compareStamps(clock.tick(), { wall: T0 + 5001 + MAX_DRIFT, counter: 0 })).toBeGreaterThan(0)
  })

  it('is monotonic, causal and drift-bounded under random ticks, clock jumps, receives and replies (property)', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 200 }),
        fc.option(stampArb, { nil: undefined }),
        (ops, restored) => {
          const time = manual()
          const clock = new HybridClock({ now: time.now, ...(restored ? { last: restored } : {}) })
          // Every tick must exceed everything issued or (within bounds) observed so far.
          let floor: Stamp = restored ?? { wall: 0, counter: 0 }
          const max = (a: Stamp, b: Stamp) => (compareStamps(a, b) >= 0 ? a : b)
          for (const op of ops) {
            if (op.op === 'tick') {
              const s = clock.tick()
              expect(compareStamps(s, floor)).toBeGreaterThan(0)
              expect(s.wall).toBeGreaterThanOrEqual(time.now())
              expect(isStamp(s)).toBe(true)
              floor = s
            } else if (op.op === 'move') {
              time.set(Math.max(0, time.now() + op.ms))
            } else {
              const remote = { wall: Math.max(0, time.now() + op.dWall), counter: op.counter }
              const before = clock.last
              if (op.op === 'after') {
                const s = clock.after(remote)
                expect(compareStamps(s, floor)).toBeGreaterThan(0)
                expect(compareStamps(s, remote)).toBeGreaterThan(0)
                const bound = time.now() + MAX_DRIFT
                expect(clock.last.wall).toBeLessThanOrEqual(Math.max(before.wall, bound))
                if (remote.wall <= bound) floor = max(floor, s)
              } else {
                clock.receive(remote)
                const bound = time.now() + MAX_DRIFT
                expect(clock.last.wall).toBeLessThanOrEqual(Math.max(before.wall, bound))
                if (remote.wall <= bound) floor = max(floor, remote)
              }
              expect(compareStamps(clock.last, before)).toBeGreaterThanOrEqual(0)
              expect(compareStamps(clock.last, floor)).toBeGreaterThanOrEqual(0)
            }
          }
        },
      ),
      { numRuns: 300, ...replay },
    )
  })
})
