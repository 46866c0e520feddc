import type { Timers } from '@tidings/core'

/** What a scheduled event stands for, so a network that cannot settle can say what still runs. */
export interface EventTag {
  /** The device it belongs to (its name). */
  readonly owner: string
  readonly kind: 'frame' | 'timer' | 'reconnect'
}

/** A scheduled event: cancel it with `Scheduler.cancel`. */
export interface ScheduledEvent {
  readonly at: number
  readonly seq: number
  readonly run: () => void
  readonly tag: EventTag | undefined
  cancelled: boolean
}

/** A device's virtual timers: `cancelAll` (a crash) drops every pending one and refuses new ones. */
export interface DeviceTimers extends Timers {
  cancelAll(): void
}

/**
 * Virtual time for a whole simulated network: one ordered queue of frames and timers, so a run
 * replays exactly from its seed. Time moves only when the network advances or settles.
 */
export class Scheduler {
  #now: number
  #seq = 0
  readonly #events: ScheduledEvent[] = []

  constructor(start: number) {
    this.#now = start
  }

  get now(): number {
    return this.#now
  }

  /** Runs `run` at virtual time `at` (not before now); events at one time run in the order scheduled. */
  at(at: number, run: () => void, tag?: EventTag): ScheduledEvent {
    const event: ScheduledEvent = {
      at: Math.max(at, this.#now),
      seq: this.#seq++,
      run,
      tag,
      cancelled: false,
    }
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

  /** Drops an event: it never runs and no longer holds `next()` (a dropped connection's frames). */
  cancel(event: ScheduledEvent): void {
    event.cancelled = true
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

  /** The tagged events still to run, for a report of what keeps the network busy. */
  pending(): EventTag[] {
    return this.#events.filter((e) => !e.cancelled && e.tag !== undefined).map((e) => e.tag!)
  }

  /** Timers for one device, firing in virtual time. */
  timers(owner: string): DeviceTimers {
    const pending = new Set<ScheduledEvent>()
    let stopped = false
    const tag: EventTag = { owner, kind: 'timer' }
    return {
      setTimeout: (fn, ms) => {
        const event = this.at(
          this.#now + Math.max(0, ms),
          () => {
            pending.delete(event)
            fn()
          },
          tag,
        )
        // A killed process sets no timers: one an abandoned client sets is dropped at once.
        if (stopped) this.cancel(event)
        else pending.add(event)
        return event
      },
      clearTimeout: (handle) => {
        const event = handle as ScheduledEvent | undefined
        if (!event) return
        this.cancel(event)
        pending.delete(event)
      },
      cancelAll: () => {
        stopped = true
        for (const event of pending) this.cancel(event)
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
