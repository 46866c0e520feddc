import { mergeUpdatesTree, type OutgoingUpdate, type Timers } from '@tidings/core'
import { type Frame, MAX_FRAME_BYTES } from '@tidings/protocol'
import { CreditWindow, type SendStamp } from './credit-window.js'
import { LaneQueue, laneRank } from './lane-queue.js'
import { Pacer } from './pacer.js'

/** How often a send blocked on a full socket buffer looks again: browsers have no drain event. */
const DRAIN_POLL_MS = 10

/** What the sender needs from its connection. */
export interface SenderHost {
  readonly timers: Timers
  readonly now: () => number
  readonly maxBufferedBytes: number
  /** Frames per second this connection may send. */
  readonly framesPerSecond: number
  /** True while frames can be written. */
  open(): boolean
  /** Bytes the socket holds that have not reached the network yet. */
  buffered(): number
  write(frame: Frame): void
  /** Whether a conversation's updates may go now, must wait for its subscription, or never will. */
  gate(conversation: string): 'go' | 'drop'
}

export interface Queued {
  readonly conversation: string
  readonly doc: string
  readonly rank: number
  readonly update: Uint8Array
  readonly key: string | undefined
  /** Goes in a frame of its own: it was in a merged frame the server refused. */
  readonly alone?: boolean
}

/** A frame in flight: the outbox entries merged into it, its size and what its send knew. */
interface Flight {
  readonly conversation: string
  readonly items: readonly Queued[]
  readonly bytes: number
  readonly stamp: SendStamp
}

/** What a refusal settled: the outbox entry refused, or none when its merged frame goes again split. */
export interface Settled {
  readonly conversation: string
  readonly key: string | undefined
}

/**
 * The sending side of one connection: a pace, lane queues, credit and refs. Control frames
 * (subscribe, step 1, ping) go first. Keyed updates (outbox entries) take a ref and credit until
 * acked; consecutive entries of one doc and lane are merged into one update per frame (one Yjs
 * header and one frame for many messages), at most `CreditWindow.frameBytes` each. The window is
 * sized from the measured link (CreditWindow). Keyless ones (sync answers) need no ack, so they take
 * no credit (it would never come back); they still wait their turn by lane and for the socket
 * buffer. Lane order is strict: a keyed head waiting for credit holds back lower lanes too.
 */
export class Sender {
  readonly #host: SenderHost
  readonly #pacer: Pacer
  readonly #window: CreditWindow
  readonly #control: Frame[] = []
  readonly #queue = new LaneQueue<Queued>()
  readonly #inFlight = new Map<number, Flight>()
  /** Outbox keys queued or in flight: a resent outbox is not sent twice. */
  readonly #keys = new Set<string>()
  /** Step 1s from the server per doc that the client has not answered yet. */
  readonly #owed = new Map<string, number>()
  #credit = 0
  #nextRef = 1
  #stopped = false
  #pumpScheduled = false
  #timer: unknown

  constructor(host: SenderHost) {
    this.#host = host
    this.#pacer = new Pacer(host.framesPerSecond, host.now)
    this.#window = new CreditWindow(host.now)
  }

  /** Frames waiting in the lane queues. */
  get queued(): number {
    return this.#queue.size
  }

  /** Unacknowledged update bytes allowed now, from the measured link. */
  get windowBytes(): number {
    return this.#window.bytes
  }

  /** Queues an update in its lane. */
  send(update: OutgoingUpdate): void {
    if (this.#stopped) return
    const key = update.key
    if (key !== undefined) {
      if (this.#keys.has(key)) return
      this.#keys.add(key)
    }
    this.#enqueue({
      conversation: update.conversation,
      doc: update.doc,
      rank: laneRank(update.lane),
      update: update.update,
      key,
    })
  }

  /** Queues a frame that goes before every update (subscribe, step 1, ping). */
  control(frame: Frame): void {
    if (this.#stopped) return
    this.#control.push(frame)
    this.#schedulePump()
  }

  /** The server sent a step 1 for `doc`: the next keyless update of it goes as its step 2. */
  owe(doc: string): void {
    this.#owed.set(doc, (this.#owed.get(doc) ?? 0) + 1)
  }

  /** Drops the conversation's updates that have not left (unsubscribed or refused). */
  drop(conversation: string): void {
    const queued = this.#queue.remove((item) => item.conversation === conversation)
    for (const item of queued) if (item.key) this.#keys.delete(item.key)
  }

  /** Settles acked refs, gives their credit back; returns their outbox keys. */
  ack(refs: readonly number[]): string[] {
    const keys: string[] = []
    for (const ref of refs) {
      const flight = this.#settle(ref)
      if (!flight) continue
      this.#window.acked(flight.stamp, flight.bytes)
      for (const item of flight.items) {
        this.#keys.delete(item.key!)
        keys.push(item.key!)
      }
    }
    this.#schedulePump()
    return keys
  }

  /**
   * Settles a refused ref and gives its credit back; returns the outbox entry it carried. A merged
   * frame's refusal says nothing about which entry was at fault: its entries go again one per frame,
   * ahead of their lane, so each gets its own answer; undefined then.
   */
  refuse(ref: number): Settled | undefined {
    const flight = this.#settle(ref)
    this.#schedulePump()
    if (!flight) return undefined
    if (flight.items.length === 1) {
      const key = flight.items[0]!.key!
      this.#keys.delete(key)
      return { conversation: flight.conversation, key }
    }
    if (this.#host.gate(flight.conversation) === 'drop') {
      for (const item of flight.items) this.#keys.delete(item.key!)
    } else this.#queue.requeue(flight.items.map((item) => ({ ...item, alone: true })))
    return { conversation: flight.conversation, key: undefined }
  }

  /** Stops for good: nothing more is written. */
  stop(): void {
    this.#stopped = true
    if (this.#timer !== undefined) this.#host.timers.clearTimeout(this.#timer)
  }

  #settle(ref: number): Flight | undefined {
    const flight = this.#inFlight.get(ref)
    if (!flight) return undefined
    this.#inFlight.delete(ref)
    this.#credit -= flight.bytes
    return flight
  }

  #enqueue(item: Queued) {
    if (this.#host.gate(item.conversation) === 'drop') {
      if (item.key) this.#keys.delete(item.key)
      return
    }
    this.#queue.push(item)
    this.#schedulePump()
  }

  // Deferred to a microtask so that everything queued in one tick is ordered by lane before any leaves.
  #schedulePump() {
    if (this.#pumpScheduled) return
    this.#pumpScheduled = true
    queueMicrotask(() => {
      this.#pumpScheduled = false
      this.#pump()
    })
  }

  /** Moves frames into the socket while the pace, credit and the socket buffer allow. */
  #pump() {
    const host = this.#host
    while (!this.#stopped && host.open()) {
      const control = this.#control[0]
      const item = control ? undefined : this.#queue.peek()
      if (!control && !item) return
      if (item) {
        const bytes = item.update.length
        // Only what the socket can send right away goes in, so a later urgent frame can still overtake.
        const buffered = host.buffered()
        if (buffered > 0 && (buffered >= host.maxBufferedBytes || bytes > MAX_FRAME_BYTES))
          return this.#later(DRAIN_POLL_MS)
        if (item.key !== undefined && this.#credit > 0 && this.#credit + bytes > this.#window.bytes) return
      }
      if (!this.#pacer.take()) return this.#later(this.#pacer.wait())
      if (control) {
        this.#control.shift()
        host.write(control)
      } else if (item!.key === undefined) this.#writeAnswer(this.#queue.shift()!)
      else this.#writeKeyed(this.#batch())
    }
  }

  /**
   * Takes the head entry and the entries right behind it in its lane for the same doc, as many as
   * fit in the credit left and in a frame's share of the window: one merged update per frame.
   */
  #batch(): Queued[] {
    const head = this.#queue.shift()!
    if (head.alone) return [head]
    const window = this.#window.bytes
    const room = Math.min(
      MAX_FRAME_BYTES,
      this.#window.frameBytes,
      this.#credit === 0 ? window : window - this.#credit,
    )
    const items = [head]
    let bytes = head.update.length
    for (;;) {
      const next = this.#queue.peek()
      if (!next || next.key === undefined || next.alone || next.rank !== head.rank || next.doc !== head.doc)
        break
      if (bytes + next.update.length > room) break
      items.push(this.#queue.shift()!)
      bytes += next.update.length
    }
    return items
  }

  #writeKeyed(items: readonly Queued[]) {
    const head = items[0]!
    const update = items.length === 1 ? head.update : mergeUpdatesTree(items.map((i) => i.update))
    const ref = this.#nextRef++
    const stamp = this.#window.sent(this.#inFlight.size === 0, this.#queue.size > 0)
    this.#inFlight.set(ref, { conversation: head.conversation, items, bytes: update.length, stamp })
    this.#credit += update.length
    this.#host.write({ type: 'update', doc: head.doc, ref, update })
  }

  #writeAnswer(item: Queued) {
    const owed = this.#owed.get(item.doc) ?? 0
    if (owed > 0) {
      if (owed === 1) this.#owed.delete(item.doc)
      else this.#owed.set(item.doc, owed - 1)
      this.#host.write({ type: 'sync-step2', doc: item.doc, update: item.update })
    } else this.#host.write({ type: 'update', doc: item.doc, ref: 0, update: item.update })
  }

  #later(ms: number) {
    if (this.#timer !== undefined) return
    this.#timer = this.#host.timers.setTimeout(() => {
      this.#timer = undefined
      this.#pump()
    }, ms)
  }
}
