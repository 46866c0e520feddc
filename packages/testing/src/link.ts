import { type LoopbackFrame, parseDocName, SYNC_ORDER } from '@tidings/core'
import type { ScheduledEvent, Scheduler } from './scheduler.js'

/** What a link does to the frames on it, in each direction. */
export interface LinkConditions {
  /** One-way delay of every frame in ms: fixed, or a `[min, max]` range drawn per frame (default 0). */
  readonly latencyMs?: number | readonly [number, number]
  /**
   * Chance that a frame is lost. A WebSocket never skips a frame, so a loss stands for a connection
   * that dies mid-transfer: the frame is gone and the link reconnects once the heartbeat notices.
   */
  readonly loss?: number
  /** Chance that a frame arrives twice (a retried delivery). */
  readonly duplicate?: number
  /** How many later frames may overtake a frame (default 0: in order). */
  readonly reorder?: number
  /**
   * Throughput in each direction in bytes per second (default unlimited). While the link is busy
   * frames wait, and the highest lane goes next, as in the websocket transport and the server.
   */
  readonly bytesPerSecond?: number
}

/** Counts of what the links did, for a suite's figures. */
export interface LinkStats {
  sent: number
  delivered: number
  lost: number
  duplicated: number
  /** Frames dropped because a partition, a disconnect or a crash cut them off in flight. */
  cut: number
}

/** What a pipe needs from the network around it. */
export interface PipeEnv {
  readonly scheduler: Scheduler
  readonly random: () => number
  readonly stats: LinkStats
  /** The device whose link this is, named in a report of what is still in flight. */
  readonly owner: string
  conditions(): LinkConditions
  /** True while a partition or a lost frame on this connection cuts this frame's path. */
  blocked(frame: LoopbackFrame): boolean
  /** A frame was lost: the connection is dead. */
  lost(): void
}

/** Bytes a frame costs beyond its update: header, doc name, framing. */
const FRAME_OVERHEAD = 32

/** Frames without a doc (acks, sync done, subscriptions) are small and go first. */
const rank = (frame: LoopbackFrame): number => {
  const kind = frame.doc === undefined ? undefined : parseDocName(frame.doc)?.kind
  return kind === undefined ? -1 : SYNC_ORDER.indexOf(kind)
}

/**
 * One direction of one connection of a device's link to the server. A connection that drops takes
 * its pipes with it (`close`): what they still carried is cut, and the next connection gets new ones.
 */
export class Pipe {
  readonly #env: PipeEnv
  readonly #waiting: LoopbackFrame[] = []
  /** Delivery times of recent frames, newest last: the reorder window's bound. */
  readonly #recent: number[] = []
  /** Events that carry a frame of this pipe: a transfer under way or a delivery. */
  readonly #scheduled = new Set<ScheduledEvent>()
  #busy = false
  #closed = false

  constructor(env: PipeEnv) {
    this.#env = env
  }

  /** Queues a burst of frames sent at one moment; on a throttled link the highest lane goes first. */
  push(frames: readonly LoopbackFrame[]): void {
    this.#env.stats.sent += frames.length
    if (this.#closed) {
      this.#env.stats.cut += frames.length
      return
    }
    this.#waiting.push(...frames)
    this.#pump()
  }

  /** Frames waiting, being transferred or on their way. */
  get inFlight(): number {
    return this.#waiting.length + this.#scheduled.size
  }

  /** The connection dropped: every frame still on this pipe is cut and its events cancelled. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#env.stats.cut += this.inFlight
    for (const event of this.#scheduled) this.#env.scheduler.cancel(event)
    this.#scheduled.clear()
    this.#waiting.length = 0
  }

  #at(at: number, run: () => void): void {
    const event = this.#env.scheduler.at(
      at,
      () => {
        this.#scheduled.delete(event)
        run()
      },
      { owner: this.#env.owner, kind: 'frame' },
    )
    this.#scheduled.add(event)
  }

  /** Sends waiting frames: all at once on an unlimited link, one at a time by lane on a throttled one. */
  #pump(): void {
    const { bytesPerSecond } = this.#env.conditions()
    if (bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond)) {
      this.#waiting.sort((a, b) => rank(a) - rank(b))
      for (const frame of this.#waiting.splice(0)) this.#transmit(frame)
      return
    }
    if (this.#busy || this.#waiting.length === 0) return
    let best = 0
    for (let i = 1; i < this.#waiting.length; i++) {
      if (rank(this.#waiting[i]!) < rank(this.#waiting[best]!)) best = i
    }
    const [frame] = this.#waiting.splice(best, 1)
    this.#busy = true
    const ms = ((frame!.bytes + FRAME_OVERHEAD) * 1000) / bytesPerSecond
    this.#at(this.#env.scheduler.now + ms, () => {
      this.#busy = false
      this.#transmit(frame!)
      this.#pump()
    })
  }

  #transmit(frame: LoopbackFrame): void {
    const env = this.#env
    if (env.blocked(frame)) {
      env.stats.cut++
      return
    }
    const conditions = env.conditions()
    if (env.random() < (conditions.loss ?? 0)) {
      env.stats.lost++
      env.lost()
      return
    }
    // In order unless a reorder window lets up to `reorder` later frames overtake this one.
    const window = Math.max(0, Math.floor(conditions.reorder ?? 0))
    const floor = this.#recent.length > window ? this.#recent[this.#recent.length - 1 - window]! : 0
    const at = Math.max(env.scheduler.now + this.#latency(conditions), floor)
    this.#recent.push(at)
    if (this.#recent.length > window + 1) this.#recent.shift()
    const deliver = () => {
      if (env.blocked(frame)) {
        env.stats.cut++
        return
      }
      env.stats.delivered++
      frame.run()
    }
    this.#at(at, deliver)
    if (env.random() < (conditions.duplicate ?? 0)) {
      env.stats.duplicated++
      this.#at(at + this.#latency(conditions), deliver)
    }
  }

  #latency(conditions: LinkConditions): number {
    const latency = conditions.latencyMs ?? 0
    if (typeof latency === 'number') return latency
    const [min, max] = latency
    return min + this.#env.random() * (max - min)
  }
}
