import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type DeviceId, type Json, type Stamp, TidingsError } from '../src/index.js'
import {
  type ControlRecord,
  compareOrder,
  DEFAULT_MAX_BODY_BYTES,
  headerOf,
  type MessageHeader,
  type OrderKey,
  readControlRecord,
  readMessageRecord,
  resolveRevision,
  validateBody,
} from '../src/message.js'

/** Replays a failing run: FC_SEED=<seed> FC_PATH=<path> npx vitest run <this file>. */
const replay = {
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
  ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
}

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length

/** The error `fn` throws, so its class and code can be checked. */
const thrown = (fn: () => unknown): unknown => {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

const expectCode = (fn: () => unknown, code: 'input/invalid' | 'input/too-large') => {
  const error = thrown(fn)
  expect(error).toBeInstanceOf(TidingsError)
  expect((error as TidingsError).code).toBe(code)
}

/** Whether some object inside `value` has an own "__proto__" key (JSON.parse makes those). */
const hasProtoKey = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  ((!Array.isArray(value) && Object.hasOwn(value, '__proto__')) || Object.values(value).some(hasProtoKey))

/** Every object and array inside `value` (itself included) is frozen. */
const deeplyFrozen = (value: unknown): boolean =>
  typeof value !== 'object' ||
  value === null ||
  (Object.isFrozen(value) && Object.values(value).every(deeplyFrozen))

describe('validateBody', () => {
  it.each<[string, unknown]>([
    ['a string', 'hello'],
    ['an empty string', ''],
    ['a number', 42.5],
    ['zero', 0],
    ['a boolean', false],
    ['null', null],
    ['an empty object', {}],
    ['an empty array', []],
    ['unicode', 'h\u00e9llo \u{1f44b} \u4f60\u597d \u0000 "quoted" \\ \n'],
    [
      'a nested value',
      { text: 'hi', tags: ['a', 'b'], meta: { n: 1, ok: true, none: null, deep: [[{ x: [] }]] } },
    ],
    ['unicode keys', { '\u{1f600}': 1, '': 2, __proto__x: 3 }],
  ])('accepts %s and returns a deep-frozen copy', (_name, body) => {
    const before = JSON.stringify(body)
    const result = validateBody(body, DEFAULT_MAX_BODY_BYTES)
    expect(result).toEqual(body)
    expect(deeplyFrozen(result)).toBe(true)
    if (typeof body === 'object' && body !== null) {
      expect(result).not.toBe(body)
      expect(Object.isFrozen(body)).toBe(false)
    }
    expect(JSON.stringify(body)).toBe(before)
  })

  it('copies: later changes to the input do not reach the result', () => {
    const body = { list: [1, 2], inner: { a: 'x' } }
    const result = validateBody(body, 1000) as { list: number[]; inner: { a: string } }
    body.list.push(3)
    body.inner.a = 'y'
    expect(result).toEqual({ list: [1, 2], inner: { a: 'x' } })
    expect(() => result.list.push(4)).toThrow(TypeError)
  })

  it('accepts an object without a prototype', () => {
    const body = Object.assign(Object.create(null) as Record<string, Json>, { a: 1 })
    expect(validateBody(body, 1000)).toEqual({ a: 1 })
  })

  it('accepts any JSON value and returns an equal, deep-frozen copy (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        if (hasProtoKey(value)) {
          expectCode(() => validateBody(value, Number.MAX_SAFE_INTEGER), 'input/invalid')
          return
        }
        const result = validateBody(value, Number.MAX_SAFE_INTEGER)
        expect(result).toEqual(JSON.parse(JSON.stringify(value)))
        expect(deeplyFrozen(result)).toBe(true)
      }),
      { numRuns: 300, ...replay },
    )
  })

  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
  }
  const cyclicObject: Record<string, unknown> = { a: 1 }
  cyclicObject.self = cyclicObject
  const cyclicArray: unknown[] = [1]
  cyclicArray.push({ back: cyclicArray })
  // biome-ignore lint/suspicious/noSparseArray: a hole is an undefined element
  const sparse = [1, , 3]

  it.each<[string, unknown]>([
    ['a function', () => 1],
    ['a function inside an object', { onClick: () => 1 }],
    ['a function inside an array', [1, () => 1]],
    ['a symbol', Symbol('x')],
    ['a symbol inside an object', { s: Symbol('x') }],
    ['a bigint', 1n],
    ['a bigint deep inside', { a: [{ b: 2n }] }],
    ['undefined', undefined],
    ['undefined inside an object', { a: 1, b: undefined }],
    ['undefined inside an array', [1, undefined]],
    ['a sparse array', sparse],
    ['NaN', Number.NaN],
    ['Infinity inside an object', { n: Number.POSITIVE_INFINITY }],
    ['-Infinity inside an array', [Number.NEGATIVE_INFINITY]],
    ['a Date', new Date(0)],
    ['a Date inside an object', { at: new Date(0) }],
    ['a Map', new Map([['a', 1]])],
    ['a Set inside an array', [new Set([1])]],
    ['a RegExp', /x/],
    ['a class instance', new Point(1, 2)],
    ['a boxed string', Object('x')],
    ['a typed array', new Uint8Array(2)],
    ['an object with a toJSON method', { toJSON: () => 'x' }],
    // Yjs would decode the key as the object's prototype, so other replicas would see another body.
    ['a "__proto__" key', JSON.parse('{"__proto__": {"x": 1}, "a": 2}')],
    ['a nested "__proto__" key', JSON.parse('{"a": [{"__proto__": null}]}')],
    ['a cyclic object', cyclicObject],
    ['a cyclic array', cyclicArray],
  ])('refuses %s with input/invalid', (_name, body) => {
    expectCode(() => validateBody(body, DEFAULT_MAX_BODY_BYTES), 'input/invalid')
  })

  it('says what it refused', () => {
    const message = (body: unknown) => (thrown(() => validateBody(body, 1000)) as Error).message
    expect(message({ at: new Date(0) })).toMatch(/instance of Date/)
    expect(message([new Map()])).toMatch(/instance of Map/)
    expect(message({ n: 1n })).toMatch(/bigint/)
    expect(message({ toJSON: () => 1 })).toMatch(/toJSON/)
  })

  it('measures size in UTF-8 bytes of the JSON, accepting exactly the limit', () => {
    for (const ch of ['a', '\u00e9', '\u20ac', '\u{1f600}']) {
      const body = { t: ch.repeat(100) }
      const size = utf8Bytes(JSON.stringify(body))
      expect(size).toBe(8 + 100 * utf8Bytes(ch))
      expect(validateBody(body, size)).toEqual(body)
      expectCode(() => validateBody(body, size - 1), 'input/too-large')
    }
    // The default limit: 64 KiB of a 3-byte character, with the quotes.
    const max = 'x'.repeat(DEFAULT_MAX_BODY_BYTES - 2)
    expect(validateBody(max, DEFAULT_MAX_BODY_BYTES)).toBe(max)
    const euro = '\u20ac'.repeat((DEFAULT_MAX_BODY_BYTES - 2 - 2) / 3)
    expect(utf8Bytes(JSON.stringify(euro))).toBe(DEFAULT_MAX_BODY_BYTES - 2)
    expect(validateBody(euro, DEFAULT_MAX_BODY_BYTES)).toBe(euro)
    expectCode(() => validateBody(`${euro}\u00e9\u00e9`, DEFAULT_MAX_BODY_BYTES), 'input/too-large')
    expect(validateBody(`${euro}\u00e9`, DEFAULT_MAX_BODY_BYTES)).toBe(`${euro}\u00e9`)
  })

  it('has its limit at the exact UTF-8 size of any string (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        const size = utf8Bytes(JSON.stringify(s))
        expect(validateBody(s, size)).toBe(s)
        expectCode(() => validateBody(s, size - 1), 'input/too-large')
      }),
      { numRuns: 300, ...replay },
    )
  })
})

const stamp = (wall: number, counter = 0): Stamp => ({ wall, counter })
const header: MessageHeader = {
  author: 'ann',
  device: 'abcd' as DeviceId,
  stamp: stamp(1000, 2),
  priority: 'normal',
}

describe('readMessageRecord', () => {
  it('accepts a well-formed record and freezes it', () => {
    const value = { ...header, body: { text: 'hi', list: [1] } }
    const record = readMessageRecord('abcd.7', value)
    expect(record).toEqual(value)
    expect(deeplyFrozen(record)).toBe(true)
    expect(headerOf(record!)).toEqual(header)
  })

  it('accepts a reply, a null body and every priority', () => {
    expect(readMessageRecord('abcd.7', { ...header, body: 'x', replyTo: 'efgh.1' })).toBeDefined()
    expect(readMessageRecord('abcd.7', { ...header, body: null })).toBeDefined()
    for (const priority of ['urgent', 'high', 'normal', 'low'])
      expect(readMessageRecord('abcd.7', { ...header, body: 1, priority })).toBeDefined()
  })

  it.each<[string, string, unknown]>([
    ['a device that is not the id’s', 'efgh.7', { ...header, body: 1 }],
    ['an id that is not a message id', 'abcd', { ...header, body: 1 }],
    ['an id with seq 0', 'abcd.0', { ...header, body: 1 }],
    ['a bad device id', 'ABCD.7', { ...header, device: 'ABCD', body: 1 }],
    ['no body', 'abcd.7', { ...header }],
    ['no stamp', 'abcd.7', { ...header, stamp: undefined, body: 1 }],
    ['a negative wall', 'abcd.7', { ...header, stamp: stamp(-1), body: 1 }],
    ['a fractional counter', 'abcd.7', { ...header, stamp: { wall: 1, counter: 0.5 }, body: 1 }],
    ['a string stamp', 'abcd.7', { ...header, stamp: '1000.2', body: 1 }],
    ['an unknown priority', 'abcd.7', { ...header, priority: 'medium', body: 1 }],
    ['a missing priority', 'abcd.7', { ...header, priority: undefined, body: 1 }],
    ['a non-string author', 'abcd.7', { ...header, author: 7, body: 1 }],
    ['a malformed replyTo', 'abcd.7', { ...header, replyTo: 'nope', body: 1 }],
    ['null', 'abcd.7', null],
    ['a string', 'abcd.7', 'hello'],
    ['a number', 'abcd.7', 7],
    ['undefined', 'abcd.7', undefined],
  ])('refuses %s', (_name, id, value) => {
    expect(readMessageRecord(id, value)).toBeUndefined()
  })
})

describe('readControlRecord', () => {
  it('accepts an edit and a tombstone, frozen', () => {
    const edit = { stamp: stamp(5), body: { text: 'fixed' } }
    expect(readControlRecord(edit)).toEqual(edit)
    expect(deeplyFrozen(readControlRecord(edit))).toBe(true)
    const tomb = { stamp: stamp(6), deleted: true, header }
    expect(readControlRecord(tomb)).toEqual(tomb)
    expect(readControlRecord({ stamp: stamp(5), body: null })).toBeDefined()
  })

  it.each<[string, unknown]>([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'edit'],
    ['an empty object', {}],
    ['an edit without a stamp', { body: 1 }],
    ['an edit with a bad stamp', { stamp: { wall: -5, counter: 0 }, body: 1 }],
    ['an edit with a string stamp', { stamp: '5', body: 1 }],
    ['an edit without a body', { stamp: stamp(5) }],
    ['a tombstone without a header', { stamp: stamp(5), deleted: true }],
    ['a tombstone with a string header', { stamp: stamp(5), deleted: true, header: 'abcd' }],
    ['a tombstone with a bad stamp', { stamp: { wall: 1.5, counter: 0 }, deleted: true, header }],
    ['deleted not true, no body', { stamp: stamp(5), deleted: 'yes', header }],
  ])('refuses %s', (_name, value) => {
    expect(readControlRecord(value)).toBeUndefined()
  })
})

const edit = (wall: number, counter: number, body: Json): ControlRecord => ({
  stamp: stamp(wall, counter),
  body,
})
const tombstone = (wall: number, counter = 0): ControlRecord => ({
  stamp: stamp(wall, counter),
  deleted: true,
  header,
})

describe('resolveRevision', () => {
  it('is undefined without records', () => {
    expect(resolveRevision(new Map())).toBeUndefined()
  })

  it('takes the edit with the highest stamp', () => {
    const records = new Map([
      ['aaaa', edit(30, 0, 'late')],
      ['bbbb', edit(20, 5, 'early')],
      ['cccc', edit(30, 1, 'latest')],
    ])
    expect(resolveRevision(records)).toEqual({
      deleted: false,
      body: 'latest',
      editedAt: 30,
      stamp: stamp(30, 1),
    })
  })

  it('breaks equal stamps by device id, whatever the insertion order', () => {
    const a = new Map([
      ['aaaa', edit(30, 0, 'from a')],
      ['zzzz', edit(30, 0, 'from z')],
    ])
    const b = new Map([...a].reverse())
    expect(resolveRevision(a)).toEqual(resolveRevision(b))
    expect(resolveRevision(a)?.body).toBe('from z')
  })

  it('lets a tombstone win over any edit, even a later one', () => {
    const records = new Map([
      ['aaaa', edit(50, 0, 'after')],
      ['bbbb', tombstone(10)],
      ['cccc', edit(60, 0, 'much after')],
    ])
    expect(resolveRevision(records)).toEqual({ deleted: true, stamp: stamp(10) })
  })

  it('takes the latest of several tombstones, whatever the insertion order', () => {
    const entries: Array<[string, ControlRecord]> = [
      ['aaaa', tombstone(10)],
      ['bbbb', tombstone(20)],
      ['cccc', tombstone(20)],
      ['dddd', edit(30, 0, 'x')],
    ]
    expect(resolveRevision(new Map(entries))).toEqual({ deleted: true, stamp: stamp(20) })
    expect(resolveRevision(new Map([...entries].reverse()))).toEqual({ deleted: true, stamp: stamp(20) })
  })

  it('is independent of Map insertion order (property)', () => {
    const recordArb = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .tuple(fc.nat(4), fc.nat(2), fc.string({ maxLength: 3 }))
          .map(([w, c, b]) => edit(w, c, b)),
      },
      { weight: 1, arbitrary: fc.tuple(fc.nat(4), fc.nat(2)).map(([w, c]) => tombstone(w, c)) },
    )
    const entriesArb = fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-d]{4}$/), recordArb), {
      selector: ([device]) => device,
      maxLength: 6,
    })
    fc.assert(
      fc.property(
        entriesArb.chain((entries) =>
          fc.tuple(fc.constant(entries), fc.shuffledSubarray(entries, { minLength: entries.length })),
        ),
        ([entries, shuffled]) => {
          const result = resolveRevision(new Map(entries))
          expect(resolveRevision(new Map(shuffled))).toEqual(result)
          // And it is the record a replica would pick by hand.
          const latest = (list: typeof entries) =>
            [...list].sort(
              ([da, a], [db, b]) =>
                b.stamp.wall - a.stamp.wall || b.stamp.counter - a.stamp.counter || (db > da ? 1 : -1),
            )[0]
          const tombstones = entries.filter(([, r]) => 'deleted' in r)
          const edits = entries.filter(([, r]) => !('deleted' in r))
          if (entries.length === 0) expect(result).toBeUndefined()
          else if (tombstones.length > 0)
            expect(result).toEqual({ deleted: true, stamp: latest(tombstones)![1].stamp })
          else {
            const best = latest(edits)!
            expect(result).toEqual({
              deleted: false,
              body: (best[1] as { body: Json }).body,
              editedAt: best[1].stamp.wall,
              stamp: best[1].stamp,
            })
          }
        },
      ),
      { numRuns: 500, ...replay },
    )
  })
})

describe('compareOrder', () => {
  const keyArb: fc.Arbitrary<OrderKey> = fc.record({
    stamp: fc.record({ wall: fc.nat(3), counter: fc.nat(2) }),
    device: fc.constantFrom('aaaa', 'aaab', 'b000', 'zz'),
    seq: fc.integer({ min: 1, max: 3 }),
  })
  const same = (a: OrderKey, b: OrderKey) =>
    a.stamp.wall === b.stamp.wall &&
    a.stamp.counter === b.stamp.counter &&
    a.device === b.device &&
    a.seq === b.seq

  it('orders by stamp, then device, then seq', () => {
    const k = (wall: number, counter: number, device: string, seq: number): OrderKey => ({
      stamp: stamp(wall, counter),
      device,
      seq,
    })
    expect(compareOrder(k(1, 9, 'zzzz', 9), k(2, 0, 'aaaa', 1))).toBeLessThan(0)
    expect(compareOrder(k(2, 0, 'zzzz', 9), k(2, 1, 'aaaa', 1))).toBeLessThan(0)
    expect(compareOrder(k(2, 1, 'aaaa', 9), k(2, 1, 'bbbb', 1))).toBeLessThan(0)
    expect(compareOrder(k(2, 1, 'aaaa', 2), k(2, 1, 'aaaa', 10))).toBeLessThan(0)
    expect(compareOrder(k(2, 1, 'aaaa', 2), k(2, 1, 'aaaa', 2))).toBe(0)
  })

  it('is a total order: reflexive, antisymmetric, transitive, zero only on equal keys (property)', () => {
    fc.assert(
      fc.property(keyArb, keyArb, keyArb, (a, b, c) => {
        expect(compareOrder(a, a)).toBe(0)
        const ab = Math.sign(compareOrder(a, b))
        expect(ab).toBe(-Math.sign(compareOrder(b, a)) || 0)
        expect(ab === 0).toBe(same(a, b))
        if (ab <= 0 && compareOrder(b, c) <= 0) expect(compareOrder(a, c)).toBeLessThanOrEqual(0)
        if (ab < 0 && compareOrder(b, c) < 0) expect(compareOrder(a, c)).toBeLessThan(0)
      }),
      { numRuns: 1000, ...replay },
    )
  })
})
