import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { deviceId, isDeviceId, randomDeviceId } from '../src/ids.js'
import { conversationId, type DeviceId, messageId, parseMessageId, TidingsError } from '../src/index.js'

/** Replays a failing run: FC_SEED=<seed> FC_PATH=<path> npx vitest run <this file>. */
const replay = {
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
  ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
}

/** The error `fn` throws, so its class and code can be checked. */
const thrown = (fn: () => unknown): unknown => {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

const expectInvalid = (fn: () => unknown) => {
  const error = thrown(fn)
  expect(error).toBeInstanceOf(TidingsError)
  expect((error as TidingsError).code).toBe('input/invalid')
}

/** A seeded PRNG (mulberry32), uniform on [0, 1). */
const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const cyclic: Record<string, unknown> = {}
cyclic.self = cyclic

const deviceArb = fc.stringMatching(/^[a-z0-9]{4,32}$/).map((s) => s as DeviceId)

describe('conversationId', () => {
  it.each(['a', 'Z', '0', 'team.chat-1_a', '...', '-', '_', 'x'.repeat(128)])('accepts %j', (id) => {
    expect(conversationId(id)).toBe(id)
  })

  it.each([
    ['an empty string', ''],
    ['129 characters', 'x'.repeat(129)],
    ['a space', 'my chat'],
    ['a slash', 'a/b'],
    ['a colon', 'a:b'],
    ['a plus', 'a+b'],
    ['a non-ASCII letter', 'caf\u00e9'],
    ['an emoji', 'chat\u{1f600}'],
    ['a trailing newline', 'chat\n'],
    ['a NUL', 'chat\u0000'],
  ])('refuses %s with input/invalid', (_name, id) => {
    expectInvalid(() => conversationId(id))
    expect((thrown(() => conversationId(id)) as TidingsError).subject).toBe(id)
  })

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['a boolean', true],
    ['an array', ['chat']],
    ['an object', { id: 'chat' }],
    ['a boxed string', Object('chat')],
    ['a symbol', Symbol('chat')],
    ['a bigint', 42n],
    ['an object without a prototype', Object.create(null)],
    ['a cyclic object', cyclic],
  ])('refuses %s with input/invalid', (_name, id) => {
    expectInvalid(() => conversationId(id as string))
  })

  it('accepts exactly the strings of 1-128 characters from [A-Za-z0-9._-] (property)', () => {
    const goodArb = fc.stringMatching(/^[A-Za-z0-9._-]{1,128}$/)
    const badCharArb = fc
      .string({ minLength: 1, maxLength: 1, unit: 'grapheme' })
      .filter((c) => !/^[A-Za-z0-9._-]$/.test(c))
    fc.assert(
      fc.property(goodArb, badCharArb, fc.nat(), (good, bad, at) => {
        expect(conversationId(good)).toBe(good)
        const i = at % (good.length + 1)
        expectInvalid(() => conversationId(`${good.slice(0, i)}${bad}${good.slice(i)}`))
      }),
      { numRuns: 300, ...replay },
    )
  })
})

describe('deviceId', () => {
  it('accepts 4 to 32 of [a-z0-9]', () => {
    for (const id of ['abcd', '0000', 'a1b2c3', 'z'.repeat(32)]) {
      expect(isDeviceId(id)).toBe(true)
      expect(deviceId(id)).toBe(id)
    }
  })

  it.each([
    ['too short', 'abc'],
    ['too long', 'a'.repeat(33)],
    ['upper case', 'ABCD'],
    ['a dot', 'ab.cd'],
    ['a dash', 'ab-cd'],
    ['empty', ''],
  ])('refuses %s', (_name, id) => {
    expect(isDeviceId(id)).toBe(false)
    expectInvalid(() => deviceId(id))
  })

  it.each([
    ['a number', 1234],
    ['a bigint', 1234n],
    ['null', null],
    ['an object without a prototype', Object.create(null)],
  ])('refuses %s with input/invalid', (_name, id) => {
    expect(isDeviceId(id)).toBe(false)
    expectInvalid(() => deviceId(id as string))
  })
})

describe('randomDeviceId', () => {
  it('is a valid device id of 16 base-36 characters', () => {
    const random = mulberry32(1)
    for (let i = 0; i < 200; i++) {
      const id = randomDeviceId(random)
      expect(id).toMatch(/^[a-z0-9]{16}$/)
      expect(isDeviceId(id)).toBe(true)
    }
  })

  it('is deterministic for a seeded PRNG, and differs between seeds', () => {
    const a = randomDeviceId(mulberry32(42))
    expect(randomDeviceId(mulberry32(42))).toBe(a)
    expect(randomDeviceId(mulberry32(43))).not.toBe(a)
    const run = (seed: number) => {
      const random = mulberry32(seed)
      return Array.from({ length: 50 }, () => randomDeviceId(random))
    }
    expect(run(7)).toEqual(run(7))
    expect(new Set(run(7)).size).toBe(50)
  })

  it('maps the ends of [0, 1) to 0 and z', () => {
    expect(randomDeviceId(() => 0)).toBe('0'.repeat(16))
    expect(randomDeviceId(() => 1 - Number.EPSILON)).toBe('z'.repeat(16))
    expect(randomDeviceId(() => 10 / 36)).toBe('a'.repeat(16))
  })

  it('draws exactly 16 numbers, one per character', () => {
    let calls = 0
    randomDeviceId(() => {
      calls++
      return 0.5
    })
    expect(calls).toBe(16)
  })

  it('is valid for any values on [0, 1) (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 16,
          maxLength: 16,
        }),
        (values) => {
          let i = 0
          const id = randomDeviceId(() => values[i++]!)
          expect(isDeviceId(id)).toBe(true)
          expect(id).toHaveLength(16)
        },
      ),
      replay,
    )
  })
})

describe('messageId and parseMessageId', () => {
  it('joins device and seq with a dot', () => {
    expect(messageId('abcd' as DeviceId, 17)).toBe('abcd.17')
    expect(parseMessageId('abcd.17')).toEqual({ device: 'abcd', seq: 17 })
    expect(parseMessageId(`${'z'.repeat(32)}.${Number.MAX_SAFE_INTEGER}`)).toEqual({
      device: 'z'.repeat(32),
      seq: Number.MAX_SAFE_INTEGER,
    })
  })

  it('round-trips every device and positive safe seq (property)', () => {
    fc.assert(
      fc.property(
        deviceArb,
        fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
        (device, seq) => {
          const id = messageId(device, seq)
          expect(parseMessageId(id)).toEqual({ device, seq })
        },
      ),
      { numRuns: 300, ...replay },
    )
  })

  it.each([
    ['seq 0', 'abcd.0'],
    ['a leading zero', 'abcd.01'],
    ['a negative seq', 'abcd.-1'],
    ['a fractional seq', 'abcd.1.5'],
    ['an exponent', 'abcd.1e3'],
    ['a plus sign', 'abcd.+1'],
    ['the first unsafe integer', `abcd.${2 ** 53}`],
    ['an unsafe integer', 'abcd.9999999999999999'],
    ['17 digits', 'abcd.10000000000000000'],
    ['no dot', 'abcd1'],
    ['an empty seq', 'abcd.'],
    ['an empty device', '.1'],
    ['a device too short', 'abc.1'],
    ['a device too long', `${'a'.repeat(33)}.1`],
    ['an upper-case device', 'ABCD.1'],
    ['a dash in the device', 'ab-cd.1'],
    ['two dots', 'abcd..1'],
    ['an extra segment', 'abcd.1.2'],
    ['leading space', ' abcd.1'],
    ['trailing space', 'abcd.1 '],
    ['a trailing newline', 'abcd.1\n'],
    ['an empty string', ''],
  ])('rejects %s', (_name, id) => {
    expect(parseMessageId(id)).toBeUndefined()
  })
})
