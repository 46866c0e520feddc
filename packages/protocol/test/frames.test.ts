import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeFrame, encodeFrame, type Frame, MalformedFrameError } from '../src/index.js'

const name = fc.string({ minLength: 1, maxLength: 60 })
const bytes = fc.uint8Array({ maxLength: 300 })
const time = fc.double({ noNaN: true, noDefaultInfinity: true })
const nat = fc.nat({ max: 2 ** 31 })

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ type: fc.constant('auth' as const), token: fc.string(), device: fc.string({ maxLength: 40 }) }),
  fc.record({ type: fc.constant('welcome' as const), user: fc.string({ maxLength: 40 }), serverTime: time }),
  fc.record({ type: fc.constant('subscribe' as const), conversation: name, version: nat }),
  fc.record({ type: fc.constant('unsubscribe' as const), conversation: name }),
  fc.record({
    type: fc.constant('manifest' as const),
    conversation: name,
    since: nat,
    version: nat,
    full: fc.boolean(),
    retainedFrom: time,
    changes: fc.array(fc.record({ doc: fc.string({ maxLength: 80 }), dropped: fc.boolean() }), {
      maxLength: 20,
    }),
  }),
  fc.record(
    { type: fc.constant('sync-step1' as const), doc: name, stateVector: bytes, forwarded: fc.constant(true) },
    { requiredKeys: ['type', 'doc', 'stateVector'] },
  ),
  fc.record({ type: fc.constant('sync-step2' as const), doc: name, update: bytes }),
  fc.record({ type: fc.constant('update' as const), doc: name, ref: nat, update: bytes }),
  fc.record({ type: fc.constant('awareness' as const), conversation: name, update: bytes }),
  fc.record({ type: fc.constant('ack' as const), refs: fc.array(nat, { maxLength: 50 }) }),
  fc.record({ type: fc.constant('ping' as const), time }),
  fc.record({ type: fc.constant('pong' as const), time, serverTime: time }),
  fc.record({
    type: fc.constant('error' as const),
    doc: fc.string({ maxLength: 60 }),
    code: fc.string({ maxLength: 40 }),
    reason: fc.string(),
    ref: nat,
  }),
)

describe('frames', () => {
  it('round-trips every frame type', () => {
    fc.assert(
      fc.property(frameArb, (frame) => {
        expect(decodeFrame(encodeFrame(frame))).toEqual(frame)
      }),
      { numRuns: 2000 },
    )
  })

  it('refuses every truncation and any trailing byte with MalformedFrameError', () => {
    fc.assert(
      fc.property(frameArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (frame, cut, extra) => {
        const encoded = encodeFrame(frame)
        const truncated = encoded.slice(0, cut % encoded.length)
        expect(() => decodeFrame(truncated)).toThrow(MalformedFrameError)
        expect(() => decodeFrame(new Uint8Array([...encoded, extra]))).toThrow(MalformedFrameError)
      }),
      { numRuns: 1000 },
    )
  })

  it('never throws anything but MalformedFrameError on random or mutated bytes', () => {
    fc.assert(
      fc.property(
        frameArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        bytes,
        (frame, flips, noise) => {
          const mutated = encodeFrame(frame)
          for (const [at, value] of flips) mutated[at % mutated.length] = value
          for (const input of [mutated, noise]) {
            try {
              decodeFrame(input)
            } catch (error) {
              expect(error).toBeInstanceOf(MalformedFrameError)
            }
          }
        },
      ),
      { numRuns: 5000 },
    )
  })

  it('refuses unknown types, names that are too long and a missing doc name', () => {
    expect(() => decodeFrame(new Uint8Array([99, 0]))).toThrow(/unknown frame type/)
    expect(() =>
      decodeFrame(encodeFrame({ type: 'subscribe', conversation: 'x'.repeat(600), version: 0 })),
    ).toThrow(/exceeds/)
    expect(() =>
      decodeFrame(encodeFrame({ type: 'update', doc: '', ref: 1, update: new Uint8Array() })),
    ).toThrow(/needs a doc/)
  })
})
