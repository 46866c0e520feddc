import { diffUpdate, encodeStateVectorFromUpdate, mergeUpdates } from 'yjs'
import { Emitter } from './emitter.js'
import type { ErrorCode } from './errors.js'
import type { ConversationId } from './ids.js'
import { compareSyncOrder } from './lanes.js'
import { HubPresence } from './loopback-presence.js'
import type {
  ConnectionState,
  DocVector,
  OutgoingUpdate,
  Transport,
  TransportEvents,
  TransportSession,
} from './transport.js'
import { isEmptyUpdate } from './updates.js'

/** Options of `loopbackHub`. */
export interface LoopbackOptions {
  /**
   * When true, frames wait in `hub.queue` until a test delivers them (in any order, or twice);
   * otherwise they are delivered in order on the next microtask.
   */
  manual?: boolean
  /** Decides whether the hub accepts an update; return an error code to refuse it. */
  accept?: (update: OutgoingUpdate, session: TransportSession) => ErrorCode | undefined
  /**
   * The hub's clock (epoch ms). With it, a link made with its device's clock reports the offset
   * (hub minus device) in a `clock-offset` event at connect and after each `clock/skew` refusal,
   * as the websocket transport measures the server's.
   */
  now?: () => number
}

/** Options of one link to a loopback hub. */
export interface LoopbackLinkOptions {
  /** The device's clock, for the `clock-offset` events of a hub that has one. */
  now?: () => number
}

/** A frame in flight, from a link to the hub or back. */
export interface LoopbackFrame {
  readonly link: number
  readonly direction: 'up' | 'down'
  readonly kind: string
  /** The doc an update or sync frame is about. */
  readonly doc?: string
  /** The update's size in bytes (0 for frames without one): what a throttled link charges. */
  readonly bytes: number
  /** For an update the hub forwards: the link it came from. */
  readonly origin?: number
  /** Delivers the frame. */
  run(): void
}

/** A client's link to a loopback hub. */
export interface LoopbackTransport extends Transport {
  /** Names this link in `LoopbackFrame.link`. */
  readonly id: number
  sendAwareness(conversation: ConversationId, update: Uint8Array): void
}

/**
 * An in-process sync hub: stands in for the server in tests and demos. It keeps every doc as one
 * merged update, answers subscriptions with what a client lacks, forwards updates to the other
 * subscribers and acknowledges outbox entries once stored. Presence is stamped and cleared as the
 * server does it (see `HubPresence`).
 */
export interface LoopbackHub {
  /** A new client link to this hub. */
  transport(options?: LoopbackLinkOptions): LoopbackTransport
  /** The hub's copy of every doc, as one merged update each. */
  readonly docs: ReadonlyMap<string, Uint8Array>
  /** Frames in flight (manual mode). */
  readonly queue: readonly LoopbackFrame[]
  /** Delivers the frame at `index` (default 0); false when the queue is empty. */
  deliver(index?: number): boolean
  /** Delivers the frame at `index` and leaves a copy of it queued. */
  duplicate(index: number): void
  /** Delivers frames until none is left, including those that delivery produced. */
  flush(): Promise<void>
  /** Removes and returns the frames in flight (manual mode), for a harness that times them itself. */
  take(): LoopbackFrame[]
}

/** An in-process hub that plays the server for tests and demos: `hub.transport()` gives each client its link. */
export const loopbackHub = (options: LoopbackOptions = {}): LoopbackHub => {
  const docs = new Map<string, Uint8Array>()
  const queue: LoopbackFrame[] = []
  const links = new Map<number, LoopbackLink>()
  const presence = new HubPresence()
  let nextLink = 1
  let draining = false

  const drain = () => {
    draining = false
    while (queue.length > 0) queue.shift()!.run()
  }
  const enqueue = (frame: LoopbackFrame) => {
    queue.push(frame)
    if (!options.manual && !draining) {
      draining = true
      queueMicrotask(drain)
    }
  }

  const hub = {
    store(update: OutgoingUpdate, from: LoopbackLink) {
      const session = from.session!
      const refusal = options.accept?.(update, session)
      if (refusal) {
        if (update.key)
          from.down('refused', { key: update.key, code: refusal, reason: `refused by the hub: ${refusal}` })
        // As the websocket transport does: measure the clock again, so the client re-stamps now.
        if (refusal === 'clock/skew') from.reportOffset()
        return
      }
      const before = docs.get(update.doc)
      docs.set(update.doc, before ? mergeUpdates([before, update.update]) : update.update.slice())
      for (const link of links.values()) {
        if (link !== from && link.subscriptions.has(update.conversation)) {
          link.down(
            'update',
            { conversation: update.conversation, doc: update.doc, update: update.update.slice() },
            from.id,
          )
        }
      }
      if (update.key) from.down('ack', { keys: [update.key] })
    },
    subscribe(conversation: ConversationId, have: DocVector[], link: LoopbackLink) {
      const prefix = `${conversation}/`
      const vectors = new Map(have.map((v) => [v.doc, v.stateVector]))
      const names = new Set([...have.map((v) => v.doc)])
      // In sync order, as a server sends them: a subscriber back from offline gets urgent docs
      // before normal and low ones, whichever doc was created first.
      for (const doc of [...docs.keys()].filter((d) => d.startsWith(prefix)).sort(compareSyncOrder)) {
        const state = docs.get(doc)!
        names.add(doc)
        const missing = diffUpdate(state, vectors.get(doc) ?? new Uint8Array([0]))
        if (!isEmptyUpdate(missing)) link.down('update', { conversation, doc, update: missing })
      }
      for (const doc of names) {
        const state = docs.get(doc)
        const stateVector = state ? encodeStateVectorFromUpdate(state) : new Uint8Array([0])
        link.down('sync-request', { conversation, doc, stateVector })
      }
      link.joined.add(conversation)
      const present = presence.snapshot(conversation)
      if (present) link.down('awareness', { conversation, update: present })
      link.down('synced', { conversation })
    },
    awareness(conversation: ConversationId, update: Uint8Array, from: LoopbackLink) {
      if (!from.joined.has(conversation)) return
      hub.relay(conversation, presence.apply(conversation, update, from), from)
    },
    /** Clears the presence a link published in a conversation it leaves. */
    leave(conversation: ConversationId, from: LoopbackLink) {
      if (from.joined.delete(conversation))
        hub.relay(conversation, presence.leave(conversation, from.id), from)
    },
    relay(conversation: ConversationId, update: Uint8Array | undefined, from: LoopbackLink) {
      if (!update) return
      for (const link of links.values())
        if (link !== from && link.joined.has(conversation))
          link.down('awareness', { conversation, update: update.slice() }, from.id)
    },
  }

  class LoopbackLink implements LoopbackTransport {
    readonly id = nextLink++
    readonly #now: (() => number) | undefined
    readonly #events = new Emitter<TransportEvents>()
    readonly subscriptions = new Map<ConversationId, () => Promise<DocVector[]>>()
    readonly #unsynced = new Set<ConversationId>()
    /** Conversations the hub subscribed this link to, until it leaves them. */
    readonly joined = new Set<ConversationId>()
    session: TransportSession | undefined
    state: ConnectionState = 'offline'
    #closed = false

    constructor(linkOptions: LoopbackLinkOptions) {
      this.#now = linkOptions.now
    }

    on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]) {
      return this.#events.on(event, listener)
    }

    connect(session: TransportSession) {
      if (this.#closed) return
      this.session = session
      if (this.state !== 'offline') return
      links.set(this.id, this)
      this.#setState('connecting')
      this.#setState('syncing')
      this.reportOffset()
      for (const conversation of this.subscriptions.keys()) this.#requestSync(conversation)
      this.#maybeOnline()
    }

    disconnect() {
      if (this.state === 'offline') return
      for (const conversation of [...this.joined]) hub.leave(conversation, this)
      links.delete(this.id)
      // Frames in flight on a dropped link are lost, as on a real network.
      for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.link === this.id) queue.splice(i, 1)
      this.#unsynced.clear()
      this.#setState('offline')
    }

    subscribe(conversation: ConversationId, have: () => Promise<DocVector[]>) {
      this.subscriptions.set(conversation, have)
      if (this.state !== 'offline') this.#requestSync(conversation)
    }

    unsubscribe(conversation: ConversationId) {
      this.subscriptions.delete(conversation)
      hub.leave(conversation, this)
      this.#unsynced.delete(conversation)
      this.#maybeOnline()
    }

    send(update: OutgoingUpdate) {
      if (this.state === 'offline') return
      const copy = { ...update, update: update.update.slice() }
      enqueue({
        link: this.id,
        direction: 'up',
        kind: 'update',
        doc: copy.doc,
        bytes: copy.update.length,
        run: () => hub.store(copy, this),
      })
    }

    sendAwareness(conversation: ConversationId, update: Uint8Array) {
      if (this.state === 'offline') return
      const copy = update.slice()
      enqueue({
        link: this.id,
        direction: 'up',
        kind: 'awareness',
        bytes: copy.length,
        run: () => hub.awareness(conversation, copy, this),
      })
    }

    async close() {
      this.#closed = true
      this.disconnect()
      this.subscriptions.clear()
    }

    down<E extends keyof TransportEvents>(
      event: E,
      payload: Parameters<TransportEvents[E]>[0],
      origin?: number,
    ) {
      const { doc, update } = payload as { doc?: string; update?: Uint8Array }
      enqueue({
        link: this.id,
        direction: 'down',
        kind: event,
        ...(doc === undefined ? {} : { doc }),
        bytes: update?.length ?? 0,
        ...(origin === undefined ? {} : { origin }),
        run: () => {
          if (event === 'synced') {
            this.#unsynced.delete((payload as { conversation: ConversationId }).conversation)
          }
          ;(this.#events.emit as (e: E, p: unknown) => void)(event, payload)
          if (event === 'synced') this.#maybeOnline()
        },
      })
    }

    /** Sends the hub's clock offset down the link, when both ends have a clock. */
    reportOffset() {
      const local = this.#now
      const hubNow = options.now
      if (local && hubNow) this.down('clock-offset', { offset: hubNow() - local() })
    }

    #requestSync(conversation: ConversationId) {
      this.#unsynced.add(conversation)
      if (this.state === 'online') this.#setState('syncing')
      const have = this.subscriptions.get(conversation)!
      have().then(
        (vectors) => {
          if (this.state === 'offline' || !this.subscriptions.has(conversation)) return
          enqueue({
            link: this.id,
            direction: 'up',
            kind: 'subscribe',
            bytes: 0,
            run: () => hub.subscribe(conversation, vectors, this),
          })
        },
        () => this.disconnect(),
      )
    }

    #maybeOnline() {
      if (this.state === 'syncing' && this.#unsynced.size === 0) this.#setState('online')
    }

    #setState(state: ConnectionState) {
      if (this.state === state) return
      this.state = state
      this.#events.emit('connection', state)
    }
  }

  return {
    transport: (linkOptions = {}) => new LoopbackLink(linkOptions),
    docs,
    queue,
    deliver(index = 0) {
      const [frame] = queue.splice(index, 1)
      frame?.run()
      return frame !== undefined
    },
    duplicate(index) {
      queue[index]?.run()
    },
    take: () => queue.splice(0),
    async flush() {
      // Storage writes and `have()` calls settle on later ticks, so drain until a pass finds nothing.
      for (let quiet = 0; quiet < 3; ) {
        if (queue.length === 0) {
          quiet++
          await new Promise((resolve) => setTimeout(resolve, 0))
          continue
        }
        quiet = 0
        while (queue.length > 0) queue.shift()!.run()
      }
    },
  }
}
