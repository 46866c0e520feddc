import type { Timers } from '@tidings/core'

interface Event {
  readonly at: number
  readonly seq: number
  readonly run: () => void
  cancelled: boolean
}

/**
 * Virtual time for a whole simulated network: one ordered queue of frames and timers, so a run
 * replays exactly from its seed. Time moves only when the network advances or settles.
 */
export class Scheduler {
  #now: number
  #seq = 0
  readonly #events: Event[] = []

  constructor(start: number) {
    this.#now = start
  }

  get now(): number {
    return this.#now
  }

  /** Runs `run` at virtual time `at` (not before now); events at one time run in the order scheduled. */
  at(at: number, run: () => void): Event {
    const event: Event = { at: Math.max(at, this.#now), seq: this.#seq++, run, cancelled: false }
    // Binary search for the first later event: the queue stays sorted by (at, seq).
    let lo = 0
    let hi = this.#events.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.#events[mid]!.at <= event.at) lo = mid + 1
      else hi = mid
    }
    this.#events.splice(lo, 0, event)
    return event
  }

  /** When the next event is due, or undefined when nothing is scheduled. */
  next(): number | undefined {
    while (this.#events[0]?.cancelled) this.#events.shift()
    return this.#events[0]?.at
  }

  /** Runs the next event if it is due by `until`, moving time to it; false when none is. */
  step(until = Number.POSITIVE_INFINITY): boolean {
    const at = this.next()
    if (at === undefined || at > until) return false
    const event = this.#events.shift()!
    this.#now = Math.max(this.#now, event.at)
    event.run()
    return true
  }

  /** Moves time to `to` without running anything (callers step through what is due first). */
  moveTo(to: number): void {
    this.#now = Math.max(this.#now, to)
  }

  /**
   * Timers for one device: they fire in virtual time, and `cancelAll` (a crash) drops every one
   * still pending, as a killed process would.
   */
  timers(): Timers & { cancelAll(): void } {
    const pending = new Set<Event>()
    return {
      setTimeout: (fn, ms) => {
        const event = this.at(this.#now + Math.max(0, ms), () => {
          pending.delete(event)
          fn()
        })
        pending.add(event)
        return event
      },
      clearTimeout: (handle) => {
        const event = handle as Event | undefined
        if (!event) return
        event.cancelled = true
        pending.delete(event)
      },
      cancelAll: () => {
        for (const event of pending) event.cancelled = true
        pending.clear()
      },
    }
  }
}

/** A seeded PRNG (mulberry32): ids, clientIDs and every network fault replay from one seed. */
export const prng = (seed: number): (() => number) => {
  let state = seed | 0
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
