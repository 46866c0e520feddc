import {
  type ConnectionState,
  type ConversationId,
  compareSyncOrder,
  DEFAULT_PERIOD_MS,
  type DocVector,
  Emitter,
  laneDocName,
  metaDocName,
  type OutgoingUpdate,
  periodOf,
  TidingsError,
  type Timers,
  type Transport,
  type TransportEvents,
  type TransportSession,
} from '@tidings/core'
import { Room, type WebSocketPolyfill } from './room.js'

const LANES = ['urgent', 'control', 'high', 'normal', 'receipts', 'low'] as const

/** Options of `yWebsocketTransport`. */
export interface YWebsocketTransportOptions {
  /** The y-websocket server; each doc is the room `<url>/<doc name>`, e.g. `ws://host:1234` or `wss://host/y`. */
  url: string
  /** Defaults to `globalThis.WebSocket`; in Node 20 pass `WebSocket` from 'ws'. */
  WebSocket?: new (
    url: string,
    protocols?: string | string[],
  ) => unknown
  /**
   * Query parameters of every room url, e.g. `{ token }` for a server that authenticates there.
   * `device` is added from the session (the Tidings server's `/y/` uses it to check keys).
   */
  params?: Record<string, string>
  /**
   * Docs to follow beyond those held locally, the meta doc and the current periods: with no
   * manifest, this transport cannot learn that a doc exists on the server.
   */
  follow?: (conversation: ConversationId) => Iterable<string>
  /** Period length used to name the current periods (default one week, core's default). */
  periodMs?: number
  /** The local clock, for the current periods (default Date.now). */
  now?: () => number
  /** Maps a doc name to its room path segment (default: the name, kept in one segment when needed). */
  roomName?: (doc: string) => string
  /** Longest wait between y-websocket's reconnect attempts, ms (default 2500). */
  maxBackoffTime?: number
  /** A room silent this long asks the server for news, so y-websocket's 30 s watchdog never fires (default 10 000; 0: off). */
  keepAlive?: number
  timers?: Timers
  /** Errors nobody waits for: a room the server closed for good. */
  onError?: (error: TidingsError) => void
}

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/**
 * The room path segment of a doc. `room/urgent/3` stays as it is, so stock clients find the same
 * room; a name with a `.` or `..` segment, which URL parsing would resolve away, keeps its slashes
 * encoded.
 */
export const defaultRoomName = (doc: string): string => {
  const segments = doc.split('/')
  const unsafe = segments.some((s) => s === '.' || s === '..' || s === '')
  return segments.map(encodeURIComponent).join(unsafe ? '%2F' : '/')
}

/** Creates a transport that talks to any stock y-websocket server, one room per doc. */
export const yWebsocketTransport = (options: YWebsocketTransportOptions): Transport =>
  new YWebsocketTransport(options)

interface Subscription {
  have: () => Promise<DocVector[]>
  readonly rooms: Set<string>
  /** `have()` calls in flight: more rooms may still open. */
  listing: number
  /** 'synced' was emitted since the last time a room of this conversation fell behind. */
  synced: boolean
}

class YWebsocketTransport implements Transport {
  readonly #events = new Emitter<TransportEvents>()
  readonly #options: YWebsocketTransportOptions
  readonly #WebSocket: WebSocketPolyfill
  readonly #subscriptions = new Map<ConversationId, Subscription>()
  readonly #rooms = new Map<string, Room>()
  #state: ConnectionState = 'offline'
  #wanted = false
  #closed = false
  #session: TransportSession | undefined
  #keepAliveTimer: unknown

  constructor(options: YWebsocketTransportOptions) {
    if (typeof options.url !== 'string' || options.url.length === 0)
      throw new TidingsError('input/invalid', 'yWebsocketTransport needs the url of a y-websocket server.')
    const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: unknown }).WebSocket
    if (!WebSocket)
      throw new TidingsError(
        'input/invalid',
        "This platform has no global WebSocket: pass one, e.g. yWebsocketTransport({ WebSocket }) with WebSocket from 'ws'.",
      )
    this.#options = options
    this.#WebSocket = WebSocket as WebSocketPolyfill
  }

  get state(): ConnectionState {
    return this.#state
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]) {
    return this.#events.on(event, listener)
  }

  /** Connects every room, and opens rooms for the docs now held, until `disconnect` or `close`. */
  connect(session: TransportSession): void {
    if (this.#closed || this.#wanted) return
    this.#session = session
    this.#wanted = true
    this.#keepAlive()
    for (const room of this.#rooms.values()) room.connect()
    for (const conversation of this.#subscriptions.keys()) void this.#list(conversation)
    this.#update()
  }

  /** Disconnects every room and stays offline until `connect`. */
  disconnect(): void {
    this.#wanted = false
    if (this.#keepAliveTimer !== undefined)
      (this.#options.timers ?? defaultTimers).clearTimeout(this.#keepAliveTimer)
    this.#keepAliveTimer = undefined
    for (const room of this.#rooms.values()) room.disconnect()
    for (const subscription of this.#subscriptions.values()) subscription.synced = false
    this.#update()
  }

  /** Follows a conversation: rooms for its held docs, its meta doc, current periods and `follow`. */
  subscribe(conversation: ConversationId, have: () => Promise<DocVector[]>): void {
    if (this.#closed) return
    const known = this.#subscriptions.get(conversation)
    if (known) known.have = have
    else this.#subscriptions.set(conversation, { have, rooms: new Set(), listing: 0, synced: false })
    if (!this.#wanted) return
    void this.#list(conversation)
    this.#update()
  }

  /** Closes the conversation's rooms. */
  unsubscribe(conversation: ConversationId): void {
    const subscription = this.#subscriptions.get(conversation)
    if (!subscription) return
    this.#subscriptions.delete(conversation)
    for (const name of subscription.rooms) {
      this.#rooms.get(name)?.destroy()
      this.#rooms.delete(name)
    }
    this.#update()
  }

  /** Puts an update into its doc's shadow, which the doc's provider syncs; dropped while offline. */
  send(update: OutgoingUpdate): void {
    // Rooms connect one by one: a room's sync answer may come while another is still connecting.
    if (!this.#wanted) return
    if (!this.#subscriptions.has(update.conversation)) return
    const room = this.#room(update.conversation, update.doc)
    try {
      room.apply(update.update, update.key)
    } catch (error) {
      if (update.key !== undefined)
        this.#events.emit('refused', {
          key: update.key,
          code: 'protocol/malformed',
          reason: `The update could not be read: ${(error as Error).message}`,
        })
    }
  }

  /**
   * Publishes presence in the conversation's meta doc room, where the Tidings server's `/y/` shares
   * the conversation's presence with its own protocol; dropped while that room is not connected.
   */
  sendAwareness(conversation: ConversationId, update: Uint8Array): void {
    if (!this.#wanted || !this.#subscriptions.has(conversation)) return
    this.#rooms.get(metaDocName(conversation))?.sendAwareness(update)
  }

  /** Stops for good. */
  async close(): Promise<void> {
    this.disconnect()
    this.#closed = true
    for (const room of this.#rooms.values()) room.destroy()
    this.#rooms.clear()
    this.#subscriptions.clear()
  }

  #keepAlive() {
    const ms = this.#options.keepAlive ?? 10_000
    if (ms <= 0) return
    this.#keepAliveTimer = (this.#options.timers ?? defaultTimers).setTimeout(() => {
      if (!this.#wanted) return
      const now = Date.now()
      for (const room of this.#rooms.values()) room.keepAlive(ms, now)
      this.#keepAlive()
    }, ms / 2)
  }

  /** Opens rooms for the docs a conversation should follow, in sync order. */
  async #list(conversation: ConversationId) {
    const subscription = this.#subscriptions.get(conversation)!
    // Counted before the first await, so the caller's #update sees the listing in progress.
    subscription.listing++
    let held: DocVector[] = []
    try {
      held = await subscription.have()
    } catch (error) {
      this.#options.onError?.(
        new TidingsError('client/unexpected', `Listing the docs of ${conversation} failed.`, {
          cause: error,
        }),
      )
    } finally {
      subscription.listing--
    }
    if (this.#subscriptions.get(conversation) !== subscription || !this.#wanted) return this.#update()
    const periodMs = this.#options.periodMs ?? DEFAULT_PERIOD_MS
    const period = periodOf((this.#options.now ?? Date.now)(), periodMs)
    const names = new Set([
      metaDocName(conversation),
      ...LANES.map((lane) => laneDocName(conversation, lane, period, periodMs)),
      ...held.map((v) => v.doc).filter((doc) => doc.startsWith(`${conversation}/`)),
      ...(this.#options.follow?.(conversation) ?? []),
    ])
    for (const doc of [...names].sort(compareSyncOrder)) this.#room(conversation, doc)
    this.#update()
  }

  #room(conversation: ConversationId, doc: string): Room {
    let room = this.#rooms.get(doc)
    if (room) return room
    const options = this.#options
    room = new Room(
      {
        url: options.url,
        room: (options.roomName ?? defaultRoomName)(doc),
        params: { ...(this.#session ? { device: this.#session.device } : {}), ...options.params },
        WebSocket: this.#WebSocket,
        maxBackoffTime: options.maxBackoffTime ?? 2500,
        timers: options.timers ?? defaultTimers,
      },
      {
        update: (update) => this.#events.emit('update', { conversation, doc, update }),
        connected: (stateVector) => this.#events.emit('sync-request', { conversation, doc, stateVector }),
        ack: (keys) => this.#events.emit('ack', { keys }),
        changed: () => this.#update(),
        awareness: (update) => {
          if (doc === metaDocName(conversation)) this.#events.emit('awareness', { conversation, update })
        },
        closed: (code, reason) =>
          options.onError?.(
            new TidingsError('auth/denied', `The server closed ${doc} for good (${code}): ${reason}`, {
              subject: doc,
            }),
          ),
      },
    )
    this.#rooms.set(doc, room)
    this.#subscriptions.get(conversation)?.rooms.add(doc)
    if (this.#wanted) room.connect()
    return room
  }

  /** Derives the state from the rooms, emits 'synced' per conversation, and passes through 'syncing'. */
  #update() {
    if (!this.#wanted) return this.#setState('offline')
    let connected = true
    let synced = true
    let listing = false
    for (const [conversation, subscription] of this.#subscriptions) {
      let done = subscription.listing === 0
      if (!done) listing = true
      for (const name of subscription.rooms) {
        const room = this.#rooms.get(name)!
        if (!room.connected) connected = false
        if (!room.synced) done = false
      }
      if (!done) {
        subscription.synced = false
        synced = false
      } else if (!subscription.synced) {
        subscription.synced = true
        this.#events.emit('synced', { conversation })
      }
    }
    // Before the first room exists there is nothing connected yet, whatever `every` says.
    if (!connected || (listing && this.#rooms.size === 0)) return this.#setState('connecting')
    // The client resends its outbox on 'syncing': never skip it on the way up to 'online'.
    if (!synced || this.#state === 'offline' || this.#state === 'connecting') this.#setState('syncing')
    if (synced) this.#setState('online')
  }

  #setState(state: ConnectionState) {
    if (this.#state === state) return
    this.#state = state
    this.#events.emit('connection', state)
  }
}
