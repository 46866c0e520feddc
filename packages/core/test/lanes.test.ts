import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type ConversationId,
  compareSyncOrder,
  conversationId,
  DEFAULT_PERIOD_MS,
  type Lane,
  laneDocName,
  metaDocName,
  PRIORITIES,
  parseDocName,
  periodOf,
  SYNC_ORDER,
  TidingsError,
} from '../src/index.js'
import { assertPriority, isPriority, syncRank } from '../src/lanes.js'

/** Replays a failing run: FC_SEED=<seed> FC_PATH=<path> npx vitest run <this file>. */
const replay = {
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
  ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
}

const LANES: readonly Lane[] = ['urgent', 'high', 'normal', 'low', 'control', 'receipts']
const conv = conversationId('team.chat-1_a')
const conversationArb = fc.stringMatching(/^[A-Za-z0-9._-]{1,128}$/).map((s) => s as ConversationId)
/** Periods as parseDocName takes them: up to 15 digits, no leading zeros. */
const periodArb = fc.oneof(fc.nat(3000), fc.integer({ min: 0, max: 999_999_999_999_999 }))

describe('parseDocName', () => {
  it('parses <id>/meta', () => {
    expect(parseDocName('team.chat-1_a/meta')).toEqual({
      conversation: conv,
      kind: 'meta',
      name: 'team.chat-1_a/meta',
    })
  })

  it.each(LANES)('parses <id>/%s/<period>', (lane) => {
    expect(parseDocName(`team.chat-1_a/${lane}/2917`)).toEqual({
      conversation: conv,
      kind: lane,
      period: 2917,
      periodMs: DEFAULT_PERIOD_MS,
      name: `team.chat-1_a/${lane}/2917`,
    })
    expect(parseDocName(`c/${lane}/0`)).toMatchObject({ kind: lane, period: 0 })
    expect(parseDocName(`c/${lane}/999999999999999`)).toMatchObject({ period: 999_999_999_999_999 })
  })

  it('accepts ids at the length limit and made only of punctuation', () => {
    expect(parseDocName(`${'x'.repeat(128)}/meta`)?.conversation).toBe('x'.repeat(128))
    expect(parseDocName('../meta')).toMatchObject({ conversation: '..', kind: 'meta' })
    expect(parseDocName('meta/meta')).toMatchObject({ conversation: 'meta', kind: 'meta' })
    expect(parseDocName('normal/normal/1')).toMatchObject({ conversation: 'normal', kind: 'normal' })
  })

  it.each([
    ['an empty name', ''],
    ['an id alone', 'chat'],
    ['an empty id', '/meta'],
    ['an id over 128 characters', `${'x'.repeat(129)}/meta`],
    ['a space in the id', 'my chat/meta'],
    ['a slash-separated id', 'a/b/meta'],
    ['a non-ASCII id', 'caf\u00e9/meta'],
    ['a colon in the id', 'a:b/normal/1'],
    ['meta with a period', 'chat/meta/0'],
    ['upper-case meta', 'chat/META'],
    ['a lane without a period', 'chat/normal'],
    ['a lane with an empty period', 'chat/normal/'],
    ['an unknown lane', 'chat/medium/1'],
    ['an upper-case lane', 'chat/Normal/1'],
    ['a plural lane', 'chat/receipt/1'],
    ['a negative period', 'chat/normal/-1'],
    ['a leading zero', 'chat/normal/01'],
    ['a double zero', 'chat/normal/00'],
    ['a fractional period', 'chat/normal/1.5'],
    ['an exponent', 'chat/normal/1e3'],
    ['a hex period', 'chat/normal/0x10'],
    ['a plus sign', 'chat/normal/+1'],
    ['the default length spelled out', `chat/normal/1~${7 * 24 * 60 * 60 * 1000}`],
    ['a period length under 1 s', 'chat/normal/1~999'],
    ['a period length over 366 days', 'chat/normal/1~31622400001'],
    ['an empty period length', 'chat/normal/1~'],
    ['a space in the period', 'chat/normal/ 1'],
    ['a trailing newline', 'chat/normal/1\n'],
    ['a 16-digit period', 'chat/normal/1000000000000000'],
    ['Infinity', 'chat/normal/Infinity'],
    ['an extra segment after the period', 'chat/normal/1/x'],
    ['an extra segment after meta', 'chat/meta/x'],
    ['a trailing slash', 'chat/meta/'],
    ['a leading slash', '/chat/meta'],
  ])('rejects %s', (_name, name) => {
    expect(parseDocName(name)).toBeUndefined()
  })

  it('round-trips laneDocName and metaDocName (property)', () => {
    fc.assert(
      fc.property(conversationArb, fc.constantFrom(...LANES), periodArb, (c, lane, period) => {
        const name = laneDocName(c, lane, period)
        expect(parseDocName(name)).toEqual({
          conversation: c,
          kind: lane,
          period,
          periodMs: DEFAULT_PERIOD_MS,
          name,
        })
        // Any other length is spelled out in the name, and read back from it.
        const hourly = laneDocName(c, lane, period, 3_600_000)
        expect(hourly).toBe(`${c}/${lane}/${period}~3600000`)
        expect(parseDocName(hourly)).toEqual({
          conversation: c,
          kind: lane,
          period,
          periodMs: 3_600_000,
          name: hourly,
        })
        expect(parseDocName(metaDocName(c))).toEqual({ conversation: c, kind: 'meta', name: `${c}/meta` })
      }),
      { numRuns: 300, ...replay },
    )
  })

  it('rejects any name with a character outside the id alphabet in the id (property)', () => {
    const bad = fc
      .string({ minLength: 1, maxLength: 1, unit: 'binary' })
      .filter((ch) => !/[A-Za-z0-9._-]/.test(ch))
    fc.assert(
      fc.property(conversationArb, bad, fc.nat(), (c, ch, at) => {
        const i = at % (c.length + 1)
        const id = `${c.slice(0, i)}${ch}${c.slice(i)}`
        expect(parseDocName(`${id}/meta`)).toBeUndefined()
        expect(parseDocName(`${id}/normal/1`)).toBeUndefined()
      }),
      { numRuns: 200, ...replay },
    )
  })
})

describe('periodOf', () => {
  it('counts whole periods since the epoch', () => {
    expect(periodOf(0, DEFAULT_PERIOD_MS)).toBe(0)
    expect(periodOf(DEFAULT_PERIOD_MS - 1, DEFAULT_PERIOD_MS)).toBe(0)
    expect(periodOf(DEFAULT_PERIOD_MS, DEFAULT_PERIOD_MS)).toBe(1)
    expect(periodOf(Date.UTC(2026, 0, 5), DEFAULT_PERIOD_MS)).toBe(2922)
    expect(DEFAULT_PERIOD_MS).toBe(604_800_000)
  })

  it('places each wall inside its period (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 45 }), fc.integer({ min: 1, max: 2 ** 35 }), (wall, ms) => {
        const p = periodOf(wall, ms)
        expect(Number.isSafeInteger(p)).toBe(true)
        expect(p * ms).toBeLessThanOrEqual(wall)
        expect((p + 1) * ms).toBeGreaterThan(wall)
      }),
      replay,
    )
  })
})

describe('compareSyncOrder', () => {
  it('sorts meta, urgent, control, high, normal, receipts, low; newest period first in a kind', () => {
    const c = conv
    const expected = [
      metaDocName(c),
      laneDocName(c, 'urgent', 12),
      laneDocName(c, 'urgent', 3),
      laneDocName(c, 'control', 12),
      laneDocName(c, 'control', 11),
      laneDocName(c, 'high', 100),
      laneDocName(c, 'high', 0),
      laneDocName(c, 'normal', 12),
      laneDocName(c, 'normal', 9),
      laneDocName(c, 'normal', 2),
      laneDocName(c, 'receipts', 12),
      laneDocName(c, 'low', 12),
      laneDocName(c, 'low', 1),
    ]
    expect(SYNC_ORDER).toEqual(['meta', 'urgent', 'control', 'high', 'normal', 'receipts', 'low'])
    expect([...expected].reverse().sort(compareSyncOrder)).toEqual(expected)
    fc.assert(
      fc.property(fc.shuffledSubarray(expected, { minLength: expected.length }), (shuffled) => {
        expect(shuffled.sort(compareSyncOrder)).toEqual(expected)
      }),
      { numRuns: 50, ...replay },
    )
  })

  it('puts names it cannot parse last, in string order', () => {
    const names = ['zzz', 'c/low/1', 'c/normal/01', 'aaa', 'c/meta']
    expect(names.sort(compareSyncOrder)).toEqual(['c/meta', 'c/low/1', 'aaa', 'c/normal/01', 'zzz'])
    expect(compareSyncOrder('x', 'x')).toBe(0)
  })

  it('is a consistent comparator: antisymmetric, and ranks kinds by SYNC_ORDER (property)', () => {
    const nameArb = fc.oneof(
      fc.constant(metaDocName(conv)),
      fc.tuple(fc.constantFrom(...LANES), fc.nat(20)).map(([lane, p]) => laneDocName(conv, lane, p)),
      fc.string({ maxLength: 6 }),
    )
    fc.assert(
      fc.property(nameArb, nameArb, nameArb, (a, b, c) => {
        expect(Math.sign(compareSyncOrder(a, b))).toBe(-Math.sign(compareSyncOrder(b, a)) || 0)
        if (compareSyncOrder(a, b) <= 0 && compareSyncOrder(b, c) <= 0)
          expect(compareSyncOrder(a, c)).toBeLessThanOrEqual(0)
        const ra = parseDocName(a)
        const rb = parseDocName(b)
        if (ra && rb && ra.kind !== rb.kind)
          expect(Math.sign(compareSyncOrder(a, b))).toBe(Math.sign(syncRank(ra.kind) - syncRank(rb.kind)))
      }),
      { numRuns: 500, ...replay },
    )
  })
})

describe('priorities', () => {
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic

  it.each(PRIORITIES)('accepts %s', (p) => {
    expect(isPriority(p)).toBe(true)
    expect(assertPriority(p)).toBe(p)
  })

  it.each([
    ['an unknown name', 'medium'],
    ['a lane that is not a priority', 'control'],
    ['upper case', 'URGENT'],
    ['an empty string', ''],
    ['undefined', undefined],
    ['null', null],
    ['a number', 1],
    ['an array', ['urgent']],
    ['an object', { priority: 'urgent' }],
    ['a boxed string', Object('urgent')],
    ['a symbol', Symbol('urgent')],
    ['a bigint', 1n],
    ['an object without a prototype', Object.create(null)],
    ['a cyclic object', cyclic],
  ])('refuses %s with input/invalid', (_name, value) => {
    expect(isPriority(value)).toBe(false)
    let error: unknown
    try {
      assertPriority(value)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(TidingsError)
    expect((error as TidingsError).code).toBe('input/invalid')
    expect((error as TidingsError).message).toMatch(/urgent, high, normal, low/)
  })
})
