/**
 * Hybrid logical clock: a stamp is (wall ms, counter); the device id breaks ties outside the stamp.
 * Stamps from one clock strictly increase even when the physical clock jumps back, and a clock that
 * receives a stamp moves past it, so causes sort before their effects.
 */
export interface Stamp {
  readonly wall: number
  readonly counter: number
}

/** Default bound on how far a remote stamp may pull the local clock ahead of physical time. */
export const MAX_DRIFT = 60_000

/** Orders two stamps by wall time, then counter (the device breaks ties elsewhere). */
export const compareStamps = (a: Stamp, b: Stamp): number => a.wall - b.wall || a.counter - b.counter

/** True when `value` has the shape of a `Stamp` (finite wall and counter, a device id). */
export const isStamp = (value: unknown): value is Stamp => {
  const s = value as Stamp
  return (
    typeof s === 'object' &&
    s !== null &&
    Number.isSafeInteger(s.wall) &&
    s.wall >= 0 &&
    Number.isSafeInteger(s.counter) &&
    s.counter >= 0
  )
}

export interface ClockOptions {
  /** Physical time in ms; inject for tests. */
  now?: () => number
  /** How far ahead of physical time a remote stamp may move this clock. */
  maxDrift?: number
  /** The last stamp issued or seen, restored from storage so a restart never goes back. */
  last?: Stamp
}

/** A hybrid logical clock whose remote stamps can pull it ahead of physical time by at most `maxDrift`. */
export class HybridClock {
  #physical: () => number
  #maxDrift: number
  #last: Stamp
  /** Correction added to physical time, measured against a server in this session only. */
  offset = 0

  constructor(options: ClockOptions = {}) {
    this.#physical = options.now ?? Date.now
    this.#maxDrift = options.maxDrift ?? MAX_DRIFT
    this.#last = options.last ?? { wall: 0, counter: 0 }
  }

  /** How far ahead of physical time a remote stamp may move this clock. */
  get maxDrift(): number {
    return this.#maxDrift
  }

  /** The latest stamp issued or observed. */
  get last(): Stamp {
    return this.#last
  }

  /** Physical time in ms, corrected by the server time offset measured in this session. */
  physical(): number {
    return Math.floor(this.#physical() + this.offset)
  }

  /** Issues a stamp greater than every stamp issued or observed before. */
  tick(): Stamp {
    const wall = this.physical()
    this.#last =
      wall > this.#last.wall
        ? { wall, counter: 0 }
        : { wall: this.#last.wall, counter: this.#last.counter + 1 }
    return this.#last
  }

  /**
   * Moves the clock past a remote stamp, but never further than physical time + maxDrift, so a
   * device whose clock is a day fast cannot drag everyone else into tomorrow.
   */
  receive(remote: Stamp): void {
    const limit = this.physical() + this.#maxDrift
    const clamped = remote.wall > limit ? { wall: limit, counter: 0 } : remote
    if (compareStamps(clamped, this.#last) > 0) this.#last = clamped
  }

  /**
   * A stamp after every stamp issued and after `stamp`: for a reply (after its parent) or an edit
   * (after the revision it replaces). The clock itself moves only by the receive rule, so a parent
   * stamped a day ahead still sorts before its reply, but the next ordinary message is not dragged
   * into tomorrow (where a server would refuse it).
   */
  after(stamp: Stamp): Stamp {
    this.receive(stamp)
    const next = this.tick()
    return compareStamps(next, stamp) > 0 ? next : { wall: stamp.wall, counter: stamp.counter + 1 }
  }

  /**
   * Whether a stamp lies beyond physical time + maxDrift, where a server refuses it: written while
   * this device's clock ran fast, before the server's offset corrected it.
   */
  isAhead(stamp: Stamp): boolean {
    return stamp.wall > this.physical() + this.#maxDrift
  }

  /**
   * Takes back a lead beyond physical time + maxDrift that the clock's own fast ticks gave it. Only
   * for re-stamping messages the server refused as ahead: every stamp the server accepted lies
   * within that bound, so the clock still issues stamps after all of them.
   */
  clamp(): void {
    const limit = this.physical() + this.#maxDrift
    if (this.#last.wall > limit) this.#last = { wall: limit, counter: 0 }
  }
}
