import * as fc from 'fast-check'

/** Options of both conformance suites. Env `FC_SEED`, `FC_PATH` and `FC_RUNS` override them. */
export interface ConformanceOptions {
  /** Runs of each property (default 100). */
  readonly runs?: number
  /** Replays a failure: pass the `seed` and `path` that fast-check printed. */
  readonly seed?: number
  readonly path?: string
  /** Timeout of each test in ms (default 60 000), so a slow adapter is not cut off by vitest's 5 s. */
  readonly timeout?: number
}

const env = (name: string): string | undefined =>
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name]

/** fast-check parameters from the options and the environment. */
export const propertyParameters = <T>(options: ConformanceOptions): fc.Parameters<T> => {
  const seed = env('FC_SEED') ?? options.seed
  const path = env('FC_PATH') ?? options.path
  return {
    numRuns: Number(env('FC_RUNS') ?? options.runs ?? 100),
    ...(seed === undefined ? {} : { seed: Number(seed) }),
    ...(path === undefined ? {} : { path }),
  }
}

// Names are opaque strings to storage. Left out: lone surrogates (UTF-8 cannot hold them) and NUL (C string APIs).
export const clean = (s: string) => !s.includes('\u0000')
const ODD_TAILS = ['meta', 'urgent/0', 'low/999999999999999', 'é', 'e\u0301', 'İ', 'ß', '😀', '%', '_', '\\']
const oddTail = fc.oneof(
  fc.constantFrom(...ODD_TAILS, "'", '"', '*', '[a]', '', '/', ' ', '\u2028', '\uffff', 'META'),
  fc.string({ unit: 'binary', maxLength: 24 }).filter(clean),
)
/** An index into a small list (taken modulo its length): small numbers print and shrink well. */
export const indexArb = fc.nat({ max: 7 })

// A tiny alphabet makes prefixes ('a', 'a_', 'ab') and case twins ('a', 'A') collide often.
export const conversationArb = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(...'aAb_.-'), minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._-]{1,128}$/) },
)
export const swapCase = (s: string) =>
  s.replace(/[a-z]/gi, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()))
export const docNameArb = (convs: string[]) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...convs), oddTail).map(([c, t]) => `${c}/${t}`) },
    fc
      .tuple(fc.constantFrom(...convs), fc.constantFrom('_', 'b', '.', '-', 'A', '%'), oddTail)
      .map(([c, x, t]) => `${c}${x}/${t}`),
    fc.constantFrom(...convs).map((c) => `${swapCase(c)}/meta`),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter(clean),
  )
export const keyArb = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'toString', 'device', '', 'ключ', '😀', 'a.b'),
  fc.string({ unit: 'binary', maxLength: 16 }).filter(clean),
)

/** Pseudo-random bytes (xorshift), as a view into a larger buffer so that `update.buffer` is wrong. */
export const filledBytes = (size: number, seed: number, offset = 3): Uint8Array => {
  const buffer = new Uint8Array(size + offset + 3)
  let x = seed | 1
  for (let i = 0; i < buffer.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    buffer[i] = x & 0xff
  }
  return buffer.subarray(offset, offset + size)
}
export const sizeArb = (max: number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.nat({ max: 300 }) },
    fc.constantFrom(0, 1, 255, 256, 65_535, 65_536, 65_537, max),
    fc.nat({ max }),
  )
export const bytesArb = (max: number) =>
  fc.tuple(sizeArb(max), fc.nat(), fc.nat({ max: 9 })).map(([s, seed, o]) => filledBytes(s, seed, o))

export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (!(a instanceof Uint8Array) || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
