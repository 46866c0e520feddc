import type { Timers } from '@tidings/core'

export interface HeartbeatOptions {
  /** Time between pings, ms. */
  readonly interval: number
  /** Silence after which the link counts as dead, ms. */
  readonly timeout: number
  readonly timers: Timers
  readonly now: () => number
  readonly ping: () => void
  /** Called once when nothing was heard for `timeout`. */
  readonly dead: () => void
}

/**
 * Pings and a watchdog for one socket. TCP can look open for minutes after a 4G handover, so
 * liveness is judged by what arrives: any received frame counts, so a long download never trips it.
 */
export class Heartbeat {
  readonly #options: HeartbeatOptions
  #lastHeard: number
  #pingTimer: unknown
  #watchTimer: unknown
  #stopped = false

  /** Starts the watchdog at once, so a connect or an auth that hangs is caught too. */
  constructor(options: HeartbeatOptions) {
    this.#options = options
    this.#lastHeard = options.now()
    this.#watch(options.timeout)
  }

  /** Records that a frame arrived. */
  heard(): void {
    this.#lastHeard = this.#options.now()
  }

  /** Sends a ping now and then every `interval` (only after auth: the server budgets frames before it). */
  startPinging(): void {
    if (this.#stopped || this.#pingTimer !== undefined) return
    const tick = () => {
      if (this.#stopped) return
      this.#options.ping()
      this.#pingTimer = this.#options.timers.setTimeout(tick, this.#options.interval)
    }
    tick()
  }

  /** Stops both timers for good. */
  stop(): void {
    this.#stopped = true
    const { timers } = this.#options
    if (this.#pingTimer !== undefined) timers.clearTimeout(this.#pingTimer)
    if (this.#watchTimer !== undefined) timers.clearTimeout(this.#watchTimer)
  }

  // One timer rescheduled on expiry, rather than one reset per received frame.
  #watch(ms: number) {
    this.#watchTimer = this.#options.timers.setTimeout(() => {
      if (this.#stopped) return
      const silent = this.#options.now() - this.#lastHeard
      if (silent >= this.#options.timeout) {
        this.stop()
        this.#options.dead()
      } else this.#watch(Math.max(1, this.#options.timeout - silent))
    }, ms)
  }
}
