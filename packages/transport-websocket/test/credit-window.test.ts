import { MAX_FRAME_BYTES } from '@tidings/protocol'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CreditWindow, INITIAL_WINDOW_BYTES, type SendStamp } from '../src/credit-window.js'

interface Link {
  /** Bytes per ms at the bottleneck. */
  readonly rate: number
  /** Round trip without queueing, ms (half each way). */
  readonly rttMs: number
  /** Time the server takes to commit before it acks, ms. */
  readonly serverMs: number
}

/**
 * A sender with an endless backlog on a simulated link: frames of the window's frame size while
 * credit allows, a FIFO bottleneck, acks a round trip later. Returns, after a warm-up, the share of
 * the link used and the longest a frame waited in the bottleneck's queue.
 */
const simulate = (link: Link, ms = 30_000, warmUp = 5_000) => {
  let now = 0
  const window = new CreditWindow(() => now)
  const inFlight: { stamp: SendStamp; bytes: number; ackAt: number }[] = []
  let credit = 0
  let linkFree = 0
  let sent = 0
  let worstQueue = 0
  while (now < ms) {
    for (;;) {
      // As the sender: a frame takes what fits in the credit left, at least one message of 150 B.
      const frame = Math.min(MAX_FRAME_BYTES, window.frameBytes)
      const room = credit === 0 ? frame : Math.min(frame, window.bytes - credit)
      if (room < 150) break
      const bytes = room
      const stamp = window.sent(inFlight.length === 0, true)
      const start = Math.max(linkFree, now + link.rttMs / 2 / 2)
      if (now > warmUp) worstQueue = Math.max(worstQueue, start - (now + link.rttMs / 4))
      linkFree = start + bytes / link.rate
      const ackAt = linkFree + link.rttMs / 4 + link.serverMs + link.rttMs / 2
      inFlight.push({ stamp, bytes, ackAt })
      credit += bytes
      if (now > warmUp) sent += bytes
    }
    inFlight.sort((a, b) => a.ackAt - b.ackAt)
    const next = inFlight.shift()!
    now = next.ackAt
    credit -= next.bytes
    window.acked(next.stamp, next.bytes)
  }
  return { used: sent / ((ms - warmUp) * link.rate), worstQueue }
}

describe('credit window', () => {
  it('starts at the initial window before anything is measured', () => {
    expect(new CreditWindow(() => 0).bytes).toBe(INITIAL_WINDOW_BYTES)
  })

  it('fills a link of any speed while a frame never queues behind more than ~250 ms of bytes', () => {
    fc.assert(
      fc.property(
        // 64 kbit/s to 10 Mbit/s.
        fc.constantFrom(8, 32, 125, 1250),
        fc.integer({ min: 2, max: 300 }),
        fc.integer({ min: 0, max: 30 }),
        (rate, rttMs, serverMs) => {
          const { used, worstQueue } = simulate({ rate, rttMs, serverMs })
          expect(used).toBeGreaterThan(0.85)
          expect(worstQueue).toBeLessThan(250)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('finds a fast link within seconds: 100 MB/s at 50 ms round trip', () => {
    const { used } = simulate({ rate: 100_000, rttMs: 50, serverMs: 1 }, 6_000, 3_000)
    expect(used).toBeGreaterThan(0.85)
  })

  it('keeps what it measured when the app sends little: idle frames say nothing of the link', () => {
    let now = 0
    const window = new CreditWindow(() => now)
    // A busy stretch: frames of 2 kB with more waiting, each acked 20 ms after it left.
    for (let i = 0; i < 200; i++) {
      const stamp = window.sent(false, true)
      now += 20
      window.acked(stamp, 2000)
    }
    const measured = window.bytes
    // Then single small frames, one at a time, seconds apart.
    for (let i = 0; i < 20; i++) {
      now += 2000
      const stamp = window.sent(true, false)
      now += 100
      window.acked(stamp, 200)
    }
    expect(window.bytes).toBeGreaterThanOrEqual(measured * 0.9)
  })
})
