import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RangeSet, type RangeSetJSON } from '../src/index.js'

/** Replays a failing run: FC_SEED=<seed> FC_PATH=<path> npx vitest run <this file>. */
const replay = {
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
  ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
}

const DEVICES = ['aaaa', 'dev1', 'z9z9z9z9'] as const
const MAX_SEQ = 200

type Model = Set<string>
const pair = (device: string, seq: number) => `${device}.${seq}`

/** Inclusive ranges, kept short mostly so that ranges touch, overlap and leave gaps. */
const rangeArb = fc
  .tuple(fc.integer({ min: 1, max: MAX_SEQ }), fc.oneof(fc.integer({ min: 0, max: 5 }), fc.nat(MAX_SEQ)))
  .map(([from, len]) => [from, Math.min(MAX_SEQ, from + len)] as const)
const deviceArb = fc.constantFrom(...DEVICES)
const partsArb = fc.array(fc.tuple(deviceArb, rangeArb), { maxLength: 6 })

type Parts = Array<[string, readonly [number, number]]>
type Op =
  | { op: 'add'; device: string; seq: number }
  | { op: 'addRange'; device: string; range: readonly [number, number] }
  | { op: 'addAll'; parts: Parts }
  | { op: 'difference'; others: Parts[] }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('add' as const),
      device: deviceArb,
      seq: fc.integer({ min: 1, max: MAX_SEQ }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('addRange' as const), device: deviceArb, range: rangeArb }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('addAll' as const), parts: partsArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('difference' as const),
      others: fc.array(partsArb, { minLength: 1, maxLength: 3 }),
    }),
  },
)

const build = (parts: ReadonlyArray<readonly [string, readonly [number, number]]>) => {
  const set = new RangeSet()
  const model: Model = new Set()
  for (const [device, [from, to]] of parts) {
    set.addRange(device, from, to)
    for (let s = from; s <= to; s++) model.add(pair(device, s))
  }
  return { set, model }
}

/** Checks every observable of `set` against the model (few `expect` calls: they are slow in loops). */
const check = (set: RangeSet, model: Model) => {
  const seqs = Array.from({ length: MAX_SEQ + 2 }, (_, s) => s)
  const has = (f: (d: string, s: number) => boolean) => DEVICES.map((d) => seqs.filter((s) => f(d, s)))
  expect(has((d, s) => set.has(d, s))).toEqual(has((d, s) => model.has(pair(d, s))))
  expect(set.has('none', 1)).toBe(false)
  expect(set.size).toBe(model.size)

  // Entries: every pair once, each device's pairs in one run, ascending.
  const entries = [...set.entries()]
  expect(new Set(entries.map(([d, s]) => pair(d, s)))).toEqual(model)
  expect(entries.length).toBe(model.size)
  const runs = entries.filter(([d], i) => i === 0 || entries[i - 1]![0] !== d).map(([d]) => d)
  expect(new Set(runs).size).toBe(runs.length)
  const descents = entries.filter(([d, s], i) => i > 0 && entries[i - 1]![0] === d && entries[i - 1]![1] >= s)
  expect(descents).toEqual([])

  // JSON: sorted keys; per device sorted, merged ranges (touching ones joined) covering the model.
  const json = set.toJSON()
  const keys = Object.keys(json)
  expect(keys).toEqual([...keys].sort())
  const fromJson: Model = new Set()
  const bad: string[] = []
  for (const [device, flat] of Object.entries(json)) {
    if (flat.length === 0 || flat.length % 2 !== 0) bad.push(`${device}: length ${flat.length}`)
    for (let i = 0; i < flat.length; i += 2) {
      const from = flat[i]!
      const to = flat[i + 1]!
      if (from < 1 || to < from || (i > 0 && from <= flat[i - 1]! + 1)) bad.push(`${device}: ${flat}`)
      for (let s = from; s <= to; s++) fromJson.add(pair(device, s))
    }
  }
  expect(bad).toEqual([])
  expect(fromJson).toEqual(model)

  const round = RangeSet.fromJSON(JSON.parse(JSON.stringify(set)))
  expect(round.equals(set)).toBe(true)
  expect(round.toJSON()).toEqual(json)

  // Built independently, pair by pair in reverse, it is still equal.
  const rebuilt = new RangeSet()
  for (const p of [...model].reverse()) {
    const dot = p.lastIndexOf('.')
    rebuilt.add(p.slice(0, dot), Number(p.slice(dot + 1)))
  }
  expect(rebuilt.equals(set)).toBe(true)
  expect(set.equals(rebuilt)).toBe(true)
}

describe('RangeSet', () => {
  it('matches a Set of (device, seq) pairs under random add/addRange/addAll/difference (property)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 25 }), (ops) => {
        let set = new RangeSet()
        let model: Model = new Set()
        check(set, model)
        // A clone taken before each op must not see the op.
        let clone = set.clone()
        let cloneJson = set.toJSON()
        for (const op of ops) {
          const before = model.size
          if (op.op === 'add') {
            model.add(pair(op.device, op.seq))
            expect(set.add(op.device, op.seq)).toBe(model.size !== before)
          } else if (op.op === 'addRange') {
            const [from, to] = op.range
            for (let s = from; s <= to; s++) model.add(pair(op.device, s))
            expect(set.addRange(op.device, from, to)).toBe(model.size !== before)
          } else if (op.op === 'addAll') {
            const other = build(op.parts)
            const otherJson = other.set.toJSON()
            for (const p of other.model) model.add(p)
            expect(set.addAll(other.set)).toBe(model.size !== before)
            expect(other.set.toJSON()).toEqual(otherJson)
          } else {
            const others = op.others.map(build)
            const beforeJson = set.toJSON()
            const result = set.difference(...others.map((o) => o.set))
            expect(set.toJSON()).toEqual(beforeJson)
            model = new Set([...model].filter((p) => others.every((o) => !o.model.has(p))))
            set = result
          }
          check(set, model)
          expect(clone.toJSON()).toEqual(cloneJson)

          // A clone is equal, and changing it leaves the original alone.
          const scratch = set.clone()
          expect(scratch.equals(set)).toBe(true)
          const json = set.toJSON()
          for (const device of DEVICES) scratch.addRange(device, 1, MAX_SEQ)
          expect(set.toJSON()).toEqual(json)
          clone = set.clone()
          cloneJson = json
        }
      }),
      { numRuns: 150, ...replay },
    )
  })

  it('merges touching and overlapping ranges', () => {
    const set = new RangeSet()
    expect(set.addRange('dev1', 1, 2)).toBe(true)
    expect(set.addRange('dev1', 3, 4)).toBe(true)
    expect(set.toJSON()).toEqual({ dev1: [1, 4] })
    expect(set.addRange('dev1', 7, 9)).toBe(true)
    expect(set.toJSON()).toEqual({ dev1: [1, 4, 7, 9] })
    expect(set.add('dev1', 6)).toBe(true)
    expect(set.toJSON()).toEqual({ dev1: [1, 4, 6, 9] })
    expect(set.add('dev1', 5)).toBe(true)
    expect(set.toJSON()).toEqual({ dev1: [1, 9] })
    expect(set.addRange('dev1', 2, 8)).toBe(false)
    expect(set.add('dev1', 9)).toBe(false)
    expect(set.addRange('dev1', 20, 30)).toBe(true)
    expect(set.addRange('dev1', 11, 12)).toBe(true)
    expect(set.addRange('dev1', 8, 40)).toBe(true)
    expect(set.toJSON()).toEqual({ dev1: [1, 40] })
    expect(set.size).toBe(40)
  })

  it('finds the first seq at or after a point that is not in the set', () => {
    const set = new RangeSet()
    set.addRange('dev1', 3, 5)
    set.addRange('dev1', 7, 7)
    expect([1, 3, 4, 6, 7, 8].map((from) => set.firstFree('dev1', from))).toEqual([1, 6, 6, 6, 8, 8])
    expect(set.firstFree('dev2', 4)).toBe(4)
  })

  it('keeps one range however many seqs it covers', () => {
    const set = new RangeSet()
    set.addRange('dev1', 1, 1_000_000_000)
    expect(set.size).toBe(1_000_000_000)
    expect(set.has('dev1', 999_999_999)).toBe(true)
    expect(set.has('dev1', 1_000_000_001)).toBe(false)
    expect(set.toJSON()).toEqual({ dev1: [1, 1_000_000_000] })
  })

  it('lists devices and sorts toJSON keys', () => {
    const set = new RangeSet()
    set.add('zzzz', 1)
    set.add('aaaa', 2)
    expect([...set.devices()].sort()).toEqual(['aaaa', 'zzzz'])
    expect(Object.keys(set.toJSON())).toEqual(['aaaa', 'zzzz'])
    expect(JSON.stringify(set)).toBe('{"aaaa":[2,2],"zzzz":[1,1]}')
  })

  it('addAll reports no change when everything is already there', () => {
    const a = RangeSet.fromJSON({ dev1: [1, 10], aaaa: [3, 3] })
    const b = RangeSet.fromJSON({ dev1: [2, 5] })
    expect(a.addAll(b)).toBe(false)
    expect(a.addAll(new RangeSet())).toBe(false)
    expect(a.addAll(a)).toBe(false)
    expect(b.addAll(a)).toBe(true)
    expect(b.equals(a)).toBe(true)
  })

  it('difference with nothing is a copy; with itself is empty', () => {
    const a = RangeSet.fromJSON({ dev1: [1, 10, 20, 30], aaaa: [3, 3] })
    const copy = a.difference()
    expect(copy.equals(a)).toBe(true)
    copy.add('dev1', 15)
    expect(a.has('dev1', 15)).toBe(false)
    expect(a.difference(a).size).toBe(0)
    expect(a.difference(a).toJSON()).toEqual({})
    expect(a.difference(RangeSet.fromJSON({ dev1: [5, 25] })).toJSON()).toEqual({
      aaaa: [3, 3],
      dev1: [1, 4, 26, 30],
    })
  })

  it('fromJSON normalises unsorted and overlapping ranges', () => {
    expect(RangeSet.fromJSON({ dev1: [5, 6, 1, 2, 3, 4, 2, 3] }).toJSON()).toEqual({ dev1: [1, 6] })
  })

  describe('fromJSON ignores malformed input without throwing', () => {
    it.each([
      ['null', null],
      ['undefined', undefined],
      ['a number', 42],
      ['a string', 'dev1:1-2'],
      ['a boolean', true],
      ['an array', [1, 2]],
      ['an array of arrays', [['dev1', [1, 2]]]],
    ])('%s gives an empty set', (_name, json) => {
      const set = RangeSet.fromJSON(json)
      expect(set.size).toBe(0)
      expect(set.toJSON()).toEqual({})
    })

    it.each<[string, Record<string, unknown>, RangeSetJSON]>([
      ['a device id too short', { abc: [1, 2], dev1: [1, 1] }, { dev1: [1, 1] }],
      ['a device id too long', { ['a'.repeat(33)]: [1, 2] }, {}],
      ['a device id at the longest', { ['a'.repeat(32)]: [1, 2] }, { ['a'.repeat(32)]: [1, 2] }],
      ['upper-case device ids', { DEV1: [1, 2] }, {}],
      ['punctuation in device ids', { 'dev-1': [1, 2], 'dev.1': [1, 2], '': [1, 2] }, {}],
      ['a non-array value', { dev1: '1,2', aaaa: { 0: 1, 1: 2 }, bbbb: 3, cccc: null }, {}],
      ['non-integer bounds', { dev1: [1.5, 2, 3, 4] }, { dev1: [3, 4] }],
      ['string bounds', { dev1: ['1', '2'] }, {}],
      ['NaN and Infinity', { dev1: [Number.NaN, 2, 1, Number.POSITIVE_INFINITY] }, {}],
      ['unsafe integers', { dev1: [1, 2 ** 53] }, {}],
      ['reversed ranges', { dev1: [5, 3, 7, 8] }, { dev1: [7, 8] }],
      ['seq 0 and negatives', { dev1: [0, 2, -3, -1, 4, 4] }, { dev1: [4, 4] }],
      ['a dangling last element', { dev1: [1, 2, 5] }, { dev1: [1, 2] }],
      ['a single element', { dev1: [7] }, {}],
      ['nested arrays', { dev1: [[1, 2]] }, {}],
    ])('%s', (_name, json, expected) => {
      const set = RangeSet.fromJSON(json)
      expect(set.toJSON()).toEqual(expected)
      expect(set.has('dev1', 0)).toBe(false)
    })

    it('never throws and always yields a canonical set (property)', () => {
      const flatArb = fc.array(fc.oneof(fc.integer({ min: -3, max: 30 }), fc.double(), fc.anything()), {
        maxLength: 8,
      })
      const jsonArb = fc.oneof(
        fc.anything(),
        fc.dictionary(fc.oneof(deviceArb, fc.string()), fc.oneof(flatArb, fc.anything())),
      )
      fc.assert(
        fc.property(jsonArb, (json) => {
          const set = RangeSet.fromJSON(json)
          const again = RangeSet.fromJSON(set.toJSON())
          expect(again.toJSON()).toEqual(set.toJSON())
          for (const [device, flat] of Object.entries(set.toJSON())) {
            expect(device).toMatch(/^[a-z0-9]{4,32}$/)
            for (let i = 0; i < flat.length; i += 2) {
              expect(Number.isSafeInteger(flat[i])).toBe(true)
              expect(flat[i]).toBeGreaterThanOrEqual(i === 0 ? 1 : flat[i - 1]! + 2)
              expect(flat[i + 1]).toBeGreaterThanOrEqual(flat[i]!)
            }
          }
        }),
        { numRuns: 300, ...replay },
      )
    })
  })
})
