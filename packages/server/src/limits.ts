/** What one connection may cost the server. Every field has a default; pass only what you change. */
export interface Limits {
  /** Largest frame in bytes, enforced by ws before the frame is read (default 1 MiB). */
  readonly maxPayload: number
  /** Frames per second per connection, averaged by a token bucket (default 500). */
  readonly framesPerSecond: number
  /** Frames a connection may send at once above the average rate (default: one second's worth). */
  readonly burst: number
  /** Refused-for-rate frames, refilled at half the rate, after which the connection is closed with 4429. */
  readonly abuseBudget: number
  /** Distinct docs one connection may sync (default 10,000). */
  readonly maxOpenDocs: number
  /** Structs plus delete ranges one update may carry (default 10,000). */
  readonly maxStructs: number
  /** Malformed frames after which the connection is closed with 4400 (default 10). */
  readonly maxMalformed: number
  /**
   * Time without any received frame after which a connection is closed (4000): clients ping every
   * few seconds, so silence means a half-open link whose forwarded updates would pile up (default 30 s).
   */
  readonly idleTimeoutMs: number
  /** Time a connection has to send its `auth` frame (default 10 s). */
  readonly authTimeoutMs: number
  /** Bytes a connection may send before `auth` succeeds (default 64 KiB). */
  readonly authMaxBytes: number
  /** Frames a connection may send before `auth` succeeds (default 1). */
  readonly authMaxFrames: number
  /** Uncommitted incoming bytes per connection past which the server stops reading its socket. */
  readonly maxPendingBytes: number
  /** Bytes handed to a socket and not yet written out; further frames wait in the lane queues. */
  readonly sendHighWater: number
  /** Bytes queued for one slow connection past which it is closed (1013) and must resync. */
  readonly maxQueuedBytes: number
  /** Awareness client ids one connection may introduce per conversation or room (default 64). */
  readonly maxAwarenessClients: number
  /**
   * How long an update whose dependencies the server lacks waits for them (default 10 s): a retried
   * or reordered earlier update of the same doc may still come. Past it, it is refused.
   */
  readonly dependencyWaitMs: number
  /** Updates one connection may have waiting for dependencies (default 256). */
  readonly maxWaiting: number
  /**
   * Refused messages a user may get per minute on `/y/`, all their connections together (default
   * 16). Past it the connection is closed (4400) and the user's new `/y/` connections are closed at
   * once (4429) until the budget refills. It also caps the updates one `/y/` connection may have
   * uncommitted, so a flood of updates that will be refused costs at most this many checks.
   */
  readonly maxRefusals: number
}

export const DEFAULT_LIMITS: Limits = {
  maxPayload: 1024 * 1024,
  framesPerSecond: 500,
  burst: 500,
  abuseBudget: 500,
  maxOpenDocs: 10_000,
  maxStructs: 10_000,
  maxMalformed: 10,
  idleTimeoutMs: 30_000,
  authTimeoutMs: 10_000,
  authMaxBytes: 64 * 1024,
  authMaxFrames: 1,
  maxPendingBytes: 8 * 1024 * 1024,
  sendHighWater: 64 * 1024,
  maxQueuedBytes: 64 * 1024 * 1024,
  maxAwarenessClients: 64,
  dependencyWaitMs: 10_000,
  maxWaiting: 256,
  maxRefusals: 16,
}

/** Fills in defaults; `burst` and `abuseBudget` follow `framesPerSecond` unless given. */
export const resolveLimits = (limits: Partial<Limits> = {}): Limits => {
  const framesPerSecond = limits.framesPerSecond ?? DEFAULT_LIMITS.framesPerSecond
  return {
    ...DEFAULT_LIMITS,
    burst: framesPerSecond,
    abuseBudget: framesPerSecond,
    ...limits,
  }
}

/** A token bucket: `take()` succeeds while tokens last; they refill at `rate` per second. */
export class TokenBucket {
  #tokens: number
  #last: number

  constructor(
    readonly rate: number,
    readonly capacity: number,
    /** Monotonic: a wall clock set back (or a fixed test clock) must not stop the refill. */
    readonly now: () => number = () => performance.now(),
  ) {
    this.#tokens = capacity
    this.#last = now()
  }

  take(): boolean {
    if (this.available() < 1) return false
    this.#tokens -= 1
    return true
  }

  /** Tokens there are now (fractions included), without taking one. */
  available(): number {
    const now = this.now()
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#last) / 1000) * this.rate)
    this.#last = now
    return this.#tokens
  }
}
