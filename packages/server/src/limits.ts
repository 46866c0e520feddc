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
  /**
   * Frames a connection may send before its `auth` frame (default 1: the auth frame itself). Frames
   * behind it wait, unread past `authMaxBytes`, until the auth succeeds.
   */
  readonly authMaxFrames: number
  /**
   * Connections not authenticated yet, over the whole server (default 64); one more is refused at
   * the upgrade (503). ws buffers up to `maxPayload` of a frame before `authMaxBytes` can be
   * checked, so this bounds what strangers without a token hold: 64 MiB by default.
   */
  readonly maxUnauthenticated: number
  /** Uncommitted incoming bytes per connection past which the server stops reading its socket. */
  readonly maxPendingBytes: number
  /** Bytes handed to a socket and not yet written out; further frames wait in the lane queues. */
  readonly sendHighWater: number
  /**
   * Bytes queued for one slow connection past which it is closed (1013) and must resync (default
   * 16 MiB). While more than `sendHighWater` bytes wait, the server also stops reading that
   * connection's requests, so a client that does not read cannot make it encode more.
   */
  readonly maxQueuedBytes: number
  /**
   * Bytes queued for all connections together (default 128 MiB). Past it, a connection that has
   * bytes waiting when more are queued for it is closed (1013).
   */
  readonly maxTotalQueuedBytes: number
  /**
   * Time a connection may leave bytes unwritten without its socket taking any (default 15 s):
   * a client that never reads is closed (1013) instead of holding its queue forever.
   */
  readonly sendStallMs: number
  /** Open connections per user, Tidings and `/y/` together; one more is closed with 4429 (default 16). */
  readonly maxConnectionsPerUser: number
  /**
   * Conversations one connection may subscribe to at once, and one user over all of their
   * connections (default 256): a user's devices share their conversations.
   */
  readonly maxSubscriptions: number
  /**
   * What refused frames may cost one Tidings connection, refilled at this much a minute, before it
   * is closed with 4429 (default 100). A refused frame costs 1, plus 1 per 4 KiB and 1 per 100
   * structs read: decoding and checking cost the server in proportion, so a flood of big refusals
   * ends at its first frame, while an honest client's few refused messages cost 1 each.
   */
  readonly refusalBudget: number
  /**
   * Period docs whose period starts after the server's now that one member may create in a
   * conversation (default 16). Later periods than now + MAX_DRIFT are refused anyway (`clock/skew`).
   */
  readonly maxDocsAhead: number
  /**
   * New docs one member may create in a conversation per minute, as a burst refilled over the
   * minute (default 120): late messages with old stamps may create past periods, but not thousands.
   */
  readonly newDocsPerMinute: number
  /**
   * New docs one member may create per minute over all conversations together, as a burst
   * refilled over the minute (default 600); past it `quota/exceeded`. `newDocsPerMinute` alone
   * would let a member of 256 conversations create 30,000 docs a minute.
   */
  readonly userNewDocsPerMinute: number
  /** Awareness client ids one connection may introduce per conversation or room (default 64). */
  readonly maxAwarenessClients: number
  /**
   * Bytes of one presence state, its JSON as sent (default 16 KiB); a larger one is refused with
   * `quota/exceeded` before it is parsed. Presence is a name, a cursor, a typing flag: small.
   */
  readonly maxAwarenessStateBytes: number
  /**
   * Bytes the presence states of one connection may hold on the server together, over all its
   * conversations or its `/y/` room (default 256 KiB); past it an update is refused with
   * `quota/exceeded`. The server keeps each state for later joiners and relays it to everyone.
   */
  readonly maxAwarenessBytes: number
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

/** The limits a server applies when `limits` leaves a field out. */
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
  maxUnauthenticated: 64,
  maxPendingBytes: 8 * 1024 * 1024,
  sendHighWater: 64 * 1024,
  maxQueuedBytes: 16 * 1024 * 1024,
  maxTotalQueuedBytes: 128 * 1024 * 1024,
  sendStallMs: 15_000,
  maxConnectionsPerUser: 16,
  maxSubscriptions: 256,
  refusalBudget: 100,
  maxDocsAhead: 16,
  newDocsPerMinute: 120,
  userNewDocsPerMinute: 600,
  maxAwarenessClients: 64,
  maxAwarenessStateBytes: 16 * 1024,
  maxAwarenessBytes: 256 * 1024,
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
