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

export const compareStamps = (a: Stamp, b: Stamp): number => a.wall - b.wall || a.counter - b.counter

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

  /** The latest stamp issued or observed. */
  get last(): Stamp {
    return this.#last
  }

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

  /** Moves the clock past a stamp without the drift clamp: a reply must sort after its parent. */
  witness(stamp: Stamp): void {
    if (compareStamps(stamp, this.#last) > 0) this.#last = stamp
  }
}
