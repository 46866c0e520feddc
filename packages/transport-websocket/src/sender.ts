import type { OutgoingUpdate, Timers } from '@tidings/core'
import { type Frame, MAX_FRAME_BYTES } from '@tidings/protocol'
import { LaneQueue, laneRank } from './lane-queue.js'
import { Pacer } from './pacer.js'

/** At most this many update bytes may be unacknowledged on a connection (docs/protocol.md). */
export const CREDIT_BYTES = 32 * 1024

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
  gate(conversation: string): 'go' | 'park' | 'drop'
}

export interface Queued {
  readonly conversation: string
  readonly doc: string
  readonly rank: number
  readonly update: Uint8Array
  readonly key: string | undefined
}

/**
 * The sending side of one connection: a pace, lane queues, credit and refs. Control frames
 * (subscribe, step 1, ping) go first. Keyed updates (outbox entries) take a ref and credit until
 * acked. Keyless ones (sync answers) need no ack, so they take no credit (it would never come back);
 * they still wait their turn by lane and for the socket buffer. Lane order is strict: a keyed head
 * waiting for credit holds back lower lanes too, until acks return it.
 */
export class Sender {
  readonly #host: SenderHost
  readonly #pacer: Pacer
  readonly #control: Frame[] = []
  readonly #queue = new LaneQueue<Queued>()
  /** Updates of conversations whose subscription the server has not answered yet. */
  readonly #parked = new Map<string, Queued[]>()
  readonly #inFlight = new Map<number, { readonly item: Queued; readonly bytes: number }>()
  /** Outbox keys queued, parked or in flight: a resent outbox is not sent twice. */
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
  }

  /** Frames waiting in the lane queues or parked. */
  get queued(): number {
    let parked = 0
    for (const items of this.#parked.values()) parked += items.length
    return this.#queue.size + parked
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

  /** The conversation's subscription was answered: its parked updates join the queues. */
  release(conversation: string): void {
    const parked = this.#parked.get(conversation) ?? []
    this.#parked.delete(conversation)
    for (const item of parked) this.#enqueue(item)
  }

  /** Drops the conversation's updates that have not left (unsubscribed or refused). */
  drop(conversation: string): void {
    const parked = this.#parked.get(conversation) ?? []
    this.#parked.delete(conversation)
    const queued = this.#queue.remove((item) => item.conversation === conversation)
    for (const item of [...parked, ...queued]) if (item.key) this.#keys.delete(item.key)
  }

  /** Settles acked refs, gives their credit back; returns their outbox keys. */
  ack(refs: readonly number[]): string[] {
    const keys: string[] = []
    for (const ref of refs) {
      const item = this.#settle(ref)
      if (item) keys.push(item.key!)
    }
    this.#schedulePump()
    return keys
  }

  /** Settles a refused ref and gives its credit back; returns its outbox key. */
  refuse(ref: number): string | undefined {
    const item = this.#settle(ref)
    this.#schedulePump()
    return item?.key
  }

  /** Stops for good: nothing more is written. */
  stop(): void {
    this.#stopped = true
    if (this.#timer !== undefined) this.#host.timers.clearTimeout(this.#timer)
  }

  #settle(ref: number): Queued | undefined {
    const flight = this.#inFlight.get(ref)
    if (!flight) return undefined
    this.#inFlight.delete(ref)
    this.#credit -= flight.bytes
    this.#keys.delete(flight.item.key!)
    return flight.item
  }

  #enqueue(item: Queued) {
    const gate = this.#host.gate(item.conversation)
    if (gate === 'drop') {
      if (item.key) this.#keys.delete(item.key)
      return
    }
    // Before the server answered the subscription it may not yet know we may write there.
    if (gate === 'park') {
      const parked = this.#parked.get(item.conversation)
      if (parked) parked.push(item)
      else this.#parked.set(item.conversation, [item])
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
        if (item.key !== undefined && this.#credit > 0 && this.#credit + bytes > CREDIT_BYTES) return
      }
      if (!this.#pacer.take()) return this.#later(this.#pacer.wait())
      if (control) {
        this.#control.shift()
        host.write(control)
      } else this.#write(this.#queue.shift()!)
    }
  }

  #write(item: Queued) {
    let ref = 0
    if (item.key !== undefined) {
      ref = this.#nextRef++
      this.#inFlight.set(ref, { item, bytes: item.update.length })
      this.#credit += item.update.length
    }
    const owed = ref === 0 ? (this.#owed.get(item.doc) ?? 0) : 0
    if (owed > 0) {
      if (owed === 1) this.#owed.delete(item.doc)
      else this.#owed.set(item.doc, owed - 1)
      this.#host.write({ type: 'sync-step2', doc: item.doc, update: item.update })
    } else this.#host.write({ type: 'update', doc: item.doc, ref, update: item.update })
  }

  #later(ms: number) {
    if (this.#timer !== undefined) return
    this.#timer = this.#host.timers.setTimeout(() => {
      this.#timer = undefined
      this.#pump()
    }, ms)
  }
}
