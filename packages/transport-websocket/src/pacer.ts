/**
 * A token bucket for frames: servers limit frames per second per connection (the Tidings server
 * refuses past 500/s and closes after sustained excess), so the client stays below on its own.
 */
export class Pacer {
  #tokens: number
  #last: number

  constructor(
    /** Frames per second on average; the bucket holds one second's worth. */
    readonly rate: number,
    readonly now: () => number,
  ) {
    this.#tokens = rate
    this.#last = now()
  }

  /** Takes a token; false when none is left. */
  take(): boolean {
    if (!Number.isFinite(this.rate)) return true
    this.#refill()
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }

  /** Milliseconds until the next token. */
  wait(): number {
    if (!Number.isFinite(this.rate)) return 0
    this.#refill()
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.rate) * 1000)
  }

  #refill() {
    const now = this.now()
    this.#tokens = Math.min(this.rate, this.#tokens + ((now - this.#last) / 1000) * this.rate)
    this.#last = now
  }
}
