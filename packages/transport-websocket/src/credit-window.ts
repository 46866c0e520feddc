/** Unacknowledged update bytes allowed before the link has been measured (docs/protocol.md). */
export const INITIAL_WINDOW_BYTES = 8 * 1024
/** Never less: a window of a few messages is enough to measure the link with. */
export const MIN_WINDOW_BYTES = 1024
/** Bytes allowed beyond bandwidth × round trip, as time: what an urgent frame may queue behind. */
export const QUEUE_MS = 40
/**
 * A merged frame takes at most this long on the link: an urgent frame queued behind it, on this
 * link or on a reader's as the server forwards it, waits for at most one such frame.
 */
export const FRAME_MS = 60
/** Smallest merged frame worth making: below it a frame carries one or two messages anyway. */
const MIN_FRAME_BYTES = 256
/** Window gain while the rate still grows (BBR's startup): the window doubles each round trip. */
const STARTUP_GAIN = 2
/** Startup ends after this many round trips in which the rate grew by less than a quarter. */
const PLATEAU_ROUNDS = 3
/** How long a measured delivery rate stays the reference. */
const FILTER_MS = 2_000

/** What a frame's send knew, kept until its ack to measure a round trip and a delivery rate. */
export interface SendStamp {
  readonly sentAt: number
  /** Bytes acked on the connection when the frame left. */
  readonly delivered: number
  /** When those were last counted (or the send, when nothing was in flight). */
  readonly deliveredAt: number
  /** When the frame acked last before this send had left (this send, when nothing was in flight). */
  readonly firstSentAt: number
  /** More waited to be sent: the rate measured for this frame is the link's, not the app's. */
  readonly busy: boolean
}

/**
 * Sizes the credit window from the link as measured by acks, like BBR: the highest recent delivery
 * rate times the lowest recent round trip, plus QUEUE_MS worth of bytes. A fixed window either
 * starves a fast link or, on a slow one, lets seconds of normal frames queue in socket and kernel
 * buffers ahead of an urgent one (32 KiB is 4 s at 64 kbit/s). While the window limits, every
 * round trip grows it by (rtt + QUEUE_MS) / rtt, and by STARTUP_GAIN until the rate stops growing.
 */
export class CreditWindow {
  #minRtt = Number.POSITIVE_INFINITY
  /** Bytes per ms. */
  #maxRate = 0
  #maxRateAt = 0
  #delivered = 0
  #deliveredAt = 0
  #lastAckedSentAt = 0
  /** Bytes delivered when the current round trip began: an ack of a frame sent after it ends it. */
  #roundStart = 0
  #startup = true
  #plateau = 0
  #roundRate = 0

  constructor(readonly now: () => number) {}

  /** Unacknowledged bytes allowed now. */
  get bytes(): number {
    if (this.#maxRate === 0 || !Number.isFinite(this.#minRtt)) return INITIAL_WINDOW_BYTES
    const rtt = this.#startup ? this.#minRtt * STARTUP_GAIN : this.#minRtt
    // Plus one frame: the round trip was measured with small frames, and a frame's own time on
    // the link must not eat the margin.
    return Math.max(MIN_WINDOW_BYTES, Math.ceil(this.#maxRate * (rtt + QUEUE_MS + FRAME_MS)))
  }

  /**
   * Largest merged frame to make now: FRAME_MS worth of the measured rate, and at most half the
   * window so that acks keep the link busy (MIN_FRAME_BYTES before the link is measured).
   */
  get frameBytes(): number {
    const window = this.bytes
    // Small until measured: the first round trips then measure the link, not the frames' own size.
    if (this.#maxRate === 0) return MIN_FRAME_BYTES
    return Math.max(MIN_FRAME_BYTES, Math.min(Math.floor(window / 2), Math.ceil(this.#maxRate * FRAME_MS)))
  }

  /** The lowest recent round trip, ms (Infinity before the first ack). */
  get rttMs(): number {
    return this.#minRtt
  }

  /** A keyed frame leaves; `idle` when nothing else is in flight, `busy` when more waits behind it. */
  sent(idle: boolean, busy: boolean): SendStamp {
    const now = this.now()
    if (idle) {
      this.#deliveredAt = now
      this.#lastAckedSentAt = now
    }
    return {
      sentAt: now,
      delivered: this.#delivered,
      deliveredAt: this.#deliveredAt,
      firstSentAt: this.#lastAckedSentAt,
      busy,
    }
  }

  /** The frame stamped `stamp`, of `bytes`, was acked. */
  acked(stamp: SendStamp, bytes: number): void {
    const now = this.now()
    this.#delivered += bytes
    this.#deliveredAt = now
    this.#lastAckedSentAt = Math.max(this.#lastAckedSentAt, stamp.sentAt)
    const rtt = Math.max(1, now - stamp.sentAt)
    // The lowest of the connection, never aged out: every sample carries the standing QUEUE_MS, so
    // a fresh one would ratchet the window (and the queue) up; a new connection measures anew.
    this.#minRtt = Math.min(this.#minRtt, rtt)
    // A queue is building: the pipe is full, whatever the rate samples say (acks come bunched).
    if (this.#startup && rtt > this.#minRtt + QUEUE_MS + FRAME_MS) this.#startup = false
    // A frame sent with nothing behind it measures how fast the app wrote, not the link.
    if (!stamp.busy) return
    // Over the longer of the send and the ack intervals, as BBR: acks that arrive bunched (a group
    // commit acks several frames at once) must not read as a burst of bandwidth.
    const interval = Math.max(now - stamp.deliveredAt, stamp.sentAt - stamp.firstSentAt, 1)
    const rate = (this.#delivered - stamp.delivered) / interval
    if (rate >= this.#maxRate || now - this.#maxRateAt > FILTER_MS) {
      this.#maxRate = rate
      this.#maxRateAt = now
    }
    if (this.#startup && stamp.delivered >= this.#roundStart) this.#endRound()
  }

  /** A round trip ended: startup is over once the rate stopped growing for a few of them. */
  #endRound() {
    this.#roundStart = this.#delivered
    if (this.#maxRate >= this.#roundRate * 1.25) {
      this.#roundRate = this.#maxRate
      this.#plateau = 0
    } else if (++this.#plateau >= PLATEAU_ROUNDS) this.#startup = false
  }
}
