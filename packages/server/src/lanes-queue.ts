import { parseDocName } from '@tidings/core'
import type { ByteBudget } from './quotas.js'

/**
 * Outgoing priority buckets, highest first. Session frames (welcome, acks, errors, manifests,
 * pongs) are tiny and unblock the client, so they lead; then the doc kinds in sync order, with
 * presence after urgent so typing indicators never wait behind a backlog of normal messages.
 */
export const BUCKETS = [
  'session',
  'meta',
  'urgent',
  'awareness',
  'control',
  'high',
  'normal',
  'receipts',
  'low',
] as const
export type Bucket = (typeof BUCKETS)[number]

const rank = new Map<string, number>(BUCKETS.map((bucket, i) => [bucket, i]))

/** The bucket a doc's frames travel in; docs that are not Tidings docs go with `normal`. */
export const bucketOf = (doc: string): Bucket => parseDocName(doc)?.kind ?? 'normal'

/** Rank of a bucket: lower goes first. */
export const bucketRank = (bucket: Bucket): number => rank.get(bucket)!

/** FIFO queues, one per bucket; `shift` takes from the highest non-empty bucket. */
export class PriorityQueue<T> {
  readonly #items: T[][] = BUCKETS.map(() => [])
  readonly #heads: number[] = BUCKETS.map(() => 0)
  #size = 0

  get size(): number {
    return this.#size
  }

  push(bucket: Bucket, item: T): void {
    this.#items[bucketRank(bucket)]!.push(item)
    this.#size++
  }

  shift(): T | undefined {
    for (let i = 0; i < this.#items.length; i++) {
      const items = this.#items[i]!
      const head = this.#heads[i]!
      if (head >= items.length) continue
      const item = items[head]!
      // Advance a head index instead of Array.shift, which is linear; compact now and then.
      if (head + 1 === items.length) {
        items.length = 0
        this.#heads[i] = 0
      } else if (head > 1024 && head * 2 > items.length) {
        items.splice(0, head + 1)
        this.#heads[i] = 0
      } else this.#heads[i] = head + 1
      this.#size--
      return item
    }
    return undefined
  }

  /** Removes and returns everything, highest bucket first. */
  drain(max = Number.POSITIVE_INFINITY): T[] {
    const out: T[] = []
    while (out.length < max) {
      const item = this.shift()
      if (item === undefined) break
      out.push(item)
    }
    return out
  }
}

/** Where an `Outgoing` writes: a ws socket's `send` with its completion callback. */
export interface FrameSink {
  send(data: Uint8Array, done: (error?: Error) => void): void
}

/** What an `Outgoing` shares with the rest of the server, and when it gives up on a reader. */
export interface OutgoingOptions {
  /** The server-wide budget of queued bytes; past it, a connection with a backlog overflows. */
  readonly budget?: ByteBudget
  /** Time without any written frame, while frames wait, after which `stalled` is called. */
  readonly stallMs?: number
  readonly stalled?: () => void
}

/**
 * A connection's outgoing frames. At most `highWater` bytes sit in the socket's own buffers at a
 * time; the rest wait here by bucket, so a frame queued later in a higher bucket still goes before
 * lower frames that are not yet written: a backlog of low frames never delays an urgent one.
 * @remarks Every byte from `push` until it is written (or dropped) counts against `options.budget`.
 */
export class Outgoing {
  readonly #queue = new PriorityQueue<Uint8Array>()
  #inFlight = 0
  #queued = 0
  #closed = false
  #stall: ReturnType<typeof setTimeout> | undefined
  readonly #drains = new Set<{ bytes: number; resolve: () => void }>()

  constructor(
    private readonly sink: FrameSink,
    private readonly highWater: number,
    private readonly maxQueued: number,
    private readonly overflow: () => void,
    private readonly options: OutgoingOptions = {},
  ) {}

  /** Bytes waiting in the queues. */
  get queued(): number {
    return this.#queued
  }

  push(bucket: Bucket, frame: Uint8Array): void {
    if (this.#closed) return
    if (this.#queue.size === 0 && this.#inFlight < this.highWater) {
      // Nothing waits and the socket has room: the frame would be the next one out anyway.
      this.options.budget?.charge(frame.length)
      this.#write(frame)
      this.#watch(false)
      return
    }
    this.#queue.push(bucket, frame)
    this.#queued += frame.length
    this.options.budget?.charge(frame.length)
    if (this.#queued > this.maxQueued) {
      this.#overflow()
      return
    }
    this.#flush()
    // Over the shared budget, a connection that cannot take what it is sent gives way first.
    if (this.#queued > 0 && this.options.budget?.over) this.#overflow()
  }

  /** Resolves once at most `bytes` wait in the queues (or the connection closed). */
  whenBelow(bytes: number): Promise<void> {
    if (this.#closed || this.#queued <= bytes) return Promise.resolve()
    return new Promise((resolve) => this.#drains.add({ bytes, resolve }))
  }

  /** Drops everything still queued. */
  close(): void {
    if (!this.#closed) this.options.budget?.refund(this.#queued + this.#inFlight)
    this.#closed = true
    this.#queue.drain()
    this.#queued = 0
    clearTimeout(this.#stall)
    this.#wake()
  }

  #overflow(): void {
    this.close()
    this.overflow()
  }

  #wake(): void {
    for (const drain of this.#drains) {
      if (this.#closed || this.#queued <= drain.bytes) {
        this.#drains.delete(drain)
        drain.resolve()
      }
    }
  }

  /** Restarted by every written frame (`progress`); runs only while frames are in flight. */
  #watch(progress: boolean): void {
    const { stallMs, stalled } = this.options
    if (stallMs === undefined || !stalled || this.#closed) return
    if (this.#inFlight === 0) {
      clearTimeout(this.#stall)
      this.#stall = undefined
    } else if (this.#stall) {
      if (progress) this.#stall.refresh()
    } else {
      this.#stall = setTimeout(() => {
        if (this.#closed) return
        this.close()
        stalled()
      }, stallMs)
      this.#stall.unref?.()
    }
  }

  #flush(progress = false): void {
    while (!this.#closed && this.#inFlight < this.highWater) {
      const frame = this.#queue.shift()
      if (!frame) break
      this.#queued -= frame.length
      this.#write(frame)
    }
    this.#watch(progress)
    this.#wake()
  }

  /** Hands one frame to the socket; its bytes count as in flight until the socket wrote them. */
  #write(frame: Uint8Array): void {
    this.#inFlight += frame.length
    try {
      this.sink.send(frame, () => {
        if (this.#closed) return
        this.#inFlight -= frame.length
        this.options.budget?.refund(frame.length)
        this.#flush(true)
      })
    } catch {
      // The socket closed under us: nothing more will be written.
      this.close()
    }
  }
}
