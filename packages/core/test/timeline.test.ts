import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareOrder, type OrderKey } from '../src/message.js'
import { Timeline } from '../src/timeline.js'

/** Replays a failing run: FC_SEED=<seed> FC_PATH=<path> npx vitest run <this file>. */
const replay = {
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
  ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
}

interface Item {
  readonly id: string
  readonly key: OrderKey
  readonly label?: string
}

/** An item whose key comes from its id, as for messages: `<device>.<seq>` at a stamp. */
const item = (device: string, seq: number, wall: number, counter = 0, label?: string): Item => ({
  id: `${device}.${seq}`,
  key: { stamp: { wall, counter }, device, seq },
  ...(label === undefined ? {} : { label }),
})

const ids = (timeline: Timeline<Item>) => timeline.values().map((i) => i.id)

type Op =
  | { op: 'upsert'; device: string; seq: number; wall: number; counter: number }
  | { op: 'remove'; device: string; seq: number }

const deviceArb = fc.constantFrom('aaaa', 'bbbb', 'cccc')
const seqArb = fc.integer({ min: 1, max: 12 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('upsert' as const),
      device: deviceArb,
      seq: seqArb,
      // Few walls and counters, so stamps collide and device and seq break the ties.
      wall: fc.nat(6),
      counter: fc.nat(2),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), device: deviceArb, seq: seqArb }) },
)

describe('Timeline', () => {
  it('equals sorting the same items with compareOrder, under random upserts and removes (property)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const timeline = new Timeline<Item>()
        const model = new Map<string, Item>()
        for (const op of ops) {
          const id = `${op.device}.${op.seq}`
          if (op.op === 'upsert') {
            const next = item(op.device, op.seq, op.wall, op.counter)
            const at = timeline.upsert(next)
            model.set(id, next)
            expect(timeline.values()[at]).toBe(next)
          } else {
            expect(timeline.remove(id)).toBe(model.delete(id))
          }
        }
        const expected = [...model.values()].sort((a, b) => compareOrder(a.key, b.key))
        const values = timeline.values()
        expect(values).toEqual(expected)
        values.forEach((v, i) => {
          expect(v).toBe(expected[i])
        })
        expect(timeline.size).toBe(model.size)
        for (const [id, it] of model) expect(timeline.get(id)).toBe(it)
        // indexOf and upTo agree with positions.
        const positions = values.map((v) => timeline.indexOf(v))
        expect(positions).toEqual(values.map((_, i) => i))
        const prefixes = values.map((v) => timeline.upTo(v).length)
        expect(prefixes).toEqual(values.map((_, i) => i + 1))
      }),
      { numRuns: 300, ...replay },
    )
  })

  it('values() is the same frozen array until a change, and a new one after', () => {
    const timeline = new Timeline<Item>()
    const empty = timeline.values()
    expect(empty).toEqual([])
    expect(Object.isFrozen(empty)).toBe(true)
    expect(timeline.values()).toBe(empty)

    const a = item('aaaa', 1, 10)
    timeline.upsert(a)
    const one = timeline.values()
    expect(one).not.toBe(empty)
    expect(empty).toEqual([])
    expect(Object.isFrozen(one)).toBe(true)
    expect(timeline.values()).toBe(one)
    expect(() => (one as Item[]).push(a)).toThrow(TypeError)

    // Reads do not invalidate the snapshot; a remove of a missing id does not either.
    timeline.get(a.id)
    timeline.indexOf(a)
    timeline.upTo(a)
    expect(timeline.remove('zzzz.1')).toBe(false)
    expect(timeline.values()).toBe(one)

    // An upsert with an equal key replaces the item in place, still a new snapshot.
    const a2 = item('aaaa', 1, 10, 0, 'edited')
    expect(timeline.upsert(a2)).toBe(0)
    const replaced = timeline.values()
    expect(replaced).not.toBe(one)
    expect(replaced).toEqual([a2])
    expect(one).toEqual([a])

    expect(timeline.remove(a.id)).toBe(true)
    const after = timeline.values()
    expect(after).not.toBe(replaced)
    expect(after).toEqual([])
  })

  it('upsert of an existing id with a changed key moves it', () => {
    const timeline = new Timeline<Item>()
    const [a, b, c] = [item('aaaa', 1, 10), item('bbbb', 1, 20), item('cccc', 1, 30)]
    for (const i of [c, a, b]) timeline.upsert(i)
    expect(ids(timeline)).toEqual(['aaaa.1', 'bbbb.1', 'cccc.1'])

    const later = item('aaaa', 1, 40)
    expect(timeline.upsert(later)).toBe(2)
    expect(ids(timeline)).toEqual(['bbbb.1', 'cccc.1', 'aaaa.1'])
    expect(timeline.get('aaaa.1')).toBe(later)
    expect(timeline.size).toBe(3)

    const earlier = item('cccc', 1, 5)
    expect(timeline.upsert(earlier)).toBe(0)
    expect(ids(timeline)).toEqual(['cccc.1', 'bbbb.1', 'aaaa.1'])

    // Only the counter changes: still a move.
    const bump = item('bbbb', 1, 40, 1)
    expect(timeline.upsert(bump)).toBe(2)
    expect(ids(timeline)).toEqual(['cccc.1', 'aaaa.1', 'bbbb.1'])
  })

  it('orders equal stamps by device, then seq', () => {
    const timeline = new Timeline<Item>()
    for (const i of [item('bbbb', 2, 5), item('aaaa', 9, 5), item('bbbb', 1, 5), item('aaaa', 10, 5)])
      timeline.upsert(i)
    expect(ids(timeline)).toEqual(['aaaa.9', 'aaaa.10', 'bbbb.1', 'bbbb.2'])
  })

  it('indexOf and upTo', () => {
    const timeline = new Timeline<Item>()
    const items = [item('aaaa', 1, 1), item('aaaa', 2, 2), item('aaaa', 3, 3)]
    for (const i of items) timeline.upsert(i)
    expect(items.map((i) => timeline.indexOf(i))).toEqual([0, 1, 2])
    expect(timeline.upTo(items[1]!)).toEqual(items.slice(0, 2))
    expect(timeline.upTo(items[2]!)).toEqual(items)
    // upTo returns a fresh array, not the snapshot.
    const up = timeline.upTo(items[2]!)
    expect(up).not.toBe(timeline.values())
    up.pop()
    expect(timeline.size).toBe(3)
    // An item that is not in the timeline.
    const missing = item('zzzz', 1, 2)
    expect(timeline.indexOf(missing)).toBe(-1)
    expect(timeline.upTo(missing)).toEqual([])
  })

  it('keeps distinct ids that share a key, and finds each', () => {
    const timeline = new Timeline<Item>()
    const key: OrderKey = { stamp: { wall: 1, counter: 0 }, device: 'aaaa', seq: 1 }
    const x = { id: 'x', key }
    const y = { id: 'y', key }
    const z = { id: 'z', key }
    for (const i of [x, y, z]) timeline.upsert(i)
    expect(timeline.size).toBe(3)
    for (const i of [x, y, z]) expect(timeline.values()[timeline.indexOf(i)]).toBe(i)
    expect(timeline.remove('y')).toBe(true)
    expect(timeline.values()).toContain(x)
    expect(timeline.values()).toContain(z)
    expect(timeline.values()).not.toContain(y)
    const x2 = { id: 'x', key }
    timeline.upsert(x2)
    expect(timeline.size).toBe(2)
    expect(timeline.values()).toContain(x2)
    expect(timeline.values()).not.toContain(x)
  })

  it('places a late item into 100k items by binary search, without re-sorting', () => {
    // Count reads of keys and ids: each comparison or scan step reads one of a stored item's.
    let reads = 0
    const counted = (device: string, seq: number, wall: number): Item => {
      const key: OrderKey = { stamp: { wall, counter: 0 }, device, seq }
      const id = `${device}.${seq}`
      return {
        get id() {
          reads++
          return id
        },
        get key() {
          reads++
          return key
        },
      }
    }
    const timeline = new Timeline<Item>()
    const n = 100_000
    const log2 = Math.ceil(Math.log2(n + 1))
    // Appending is a binary search too: check it on the first thousand (and stop rather than hang
    // if each insert re-sorts), then fill up with plain items, which are faster than counted ones.
    let worst = 0
    for (let i = 1; i <= 1000 && worst <= 2 * log2 + 4; i++) {
      reads = 0
      timeline.upsert(counted('aaaa', i, i * 10))
      worst = Math.max(worst, reads)
    }
    expect(worst).toBeLessThanOrEqual(2 * log2 + 4)
    for (let i = 1001; i <= n; i++) timeline.upsert(item('aaaa', i, i * 10))
    expect(timeline.size).toBe(n)

    reads = 0
    const late = counted('bbbb', 1, 500_005)
    expect(timeline.upsert(late)).toBe(50_000)
    // A sort would compare at least n - 1 times; a binary search needs about log2(n).
    expect(reads).toBeLessThanOrEqual(2 * log2 + 4)
    expect(timeline.values()[50_000]).toBe(late)
    expect(timeline.values()[49_999]!.id).toBe('aaaa.50000')
    expect(timeline.values()[50_001]!.id).toBe('aaaa.50001')

    reads = 0
    expect(timeline.indexOf(late)).toBe(50_000)
    expect(timeline.upTo(late)).toHaveLength(50_001)
    expect(reads).toBeLessThanOrEqual(2 * (log2 + 2))

    // Moving it to the front and removing it are binary searches too.
    reads = 0
    expect(timeline.upsert(counted('bbbb', 1, 0))).toBe(0)
    expect(timeline.remove('bbbb.1')).toBe(true)
    expect(reads).toBeLessThanOrEqual(4 * (log2 + 2))
    expect(timeline.size).toBe(n)
  })
})
