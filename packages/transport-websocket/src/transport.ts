import {
  type ConnectionState,
  type ConversationId,
  type DocVector,
  Emitter,
  type ErrorCode,
  type LinkStatus,
  type OutgoingUpdate,
  TidingsError,
  type Timers,
  type Transport,
  type TransportEvents,
  type TransportSession,
} from '@tidings/core'
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js'
import type { ManifestMemory } from './conversation-sync.js'
import { type Have, Link, type LinkHost } from './link.js'
import {
  defaultOnline,
  defaultTimers,
  globalWebSocket,
  type OnlineSource,
  type WebSocketConstructor,
} from './platform.js'

export interface WebsocketTransportOptions {
  /** The server, e.g. `wss://chat.example.com/`. Never put the token here: it goes in the first frame. */
  url: string
  /**
   * The token the server's `authenticate` checks. A function is called at every connect (for
   * refresh): after a refusal (`auth/denied`) the transport calls it again and retries with backoff.
   * A string the server refuses stops the retries, since sending it again cannot succeed.
   */
  token: string | (() => string | Promise<string>)
  /** Defaults to `globalThis.WebSocket`, and to the `ws` package's in Node (the `node` export). */
  WebSocket?: WebSocketConstructor
  /** Time between pings, ms (default 5000). */
  pingInterval?: number
  /** Silence after which the link counts as dead and is replaced, ms (default 12 000). */
  pingTimeout?: number
  /** Reconnect delays: full jitter on min(cap, base · 2^attempt) (default base 250 ms, cap 30 s). */
  backoff?: Partial<BackoffOptions>
  /** Uniform on [0, 1), for the jitter (default Math.random). */
  random?: () => number
  timers?: Timers
  /** The local clock, ms since epoch (default Date.now). */
  now?: () => number
  /**
   * The platform's network signal (default: `navigator.onLine`, window 'online' and 'offline'): when
   * the network goes the transport drops its link at once and goes offline, when it comes back the
   * transport reconnects at once.
   */
  online?: OnlineSource
  /** Socket buffer level above which frames wait in the lane queues (default 16 KiB). */
  maxBufferedBytes?: number
  /**
   * Largest frame the server accepts, in bytes (default 1 MiB, the Tidings server's `maxPayload`).
   * An outbox entry past it is refused with `input/too-large`; a sync answer past it is not sent.
   */
  maxPayload?: number
  /**
   * Frames per second the transport sends at most (default 400, under the Tidings server's 500).
   * Halved, down to 10, whenever the server still refuses frames for rate.
   */
  maxFramesPerSecond?: number
  /**
   * Errors nobody waits for: link failures (once per distinct failure), unreadable frames, refused
   * subscriptions. The same errors go out as the `error` event, which a client passes to its own.
   */
  onError?: (error: TidingsError) => void
}

/** The Tidings WebSocket transport: a core `Transport` with a view of its send queue. */
export interface WebsocketTransport extends Transport {
  /** Frames of the current connection waiting to be written (0 when offline). */
  readonly queued: number
  /** The state with why the link is not online and the retry wait; the same object until it changes. */
  readonly linkStatus: LinkStatus
  /**
   * Outbox bytes the current connection may have unacknowledged now (0 when offline): the measured
   * bandwidth × round trip plus QUEUE_MS worth, INITIAL_WINDOW_BYTES before the first acks.
   */
  readonly creditWindow: number
  sendAwareness(conversation: ConversationId, update: Uint8Array): void
}

/** Creates the multiplexed, priority-ordered transport to a Tidings server (docs/protocol.md). */
export const websocketTransport = (options: WebsocketTransportOptions): WebsocketTransport =>
  new TidingsWebsocketTransport(options)

class TidingsWebsocketTransport implements WebsocketTransport {
  readonly #events = new Emitter<TransportEvents>()
  readonly #subscriptions = new Map<ConversationId, Have>()
  readonly #manifests = new Map<string, ManifestMemory>()
  readonly #options: WebsocketTransportOptions
  readonly #WebSocket: WebSocketConstructor
  readonly #timers: Timers
  readonly #backoff: BackoffOptions
  readonly #online: OnlineSource
  #status: LinkStatus = Object.freeze({ state: 'offline' })
  /** The last failure of the link, until the server welcomes one: the reason while retrying. */
  #reason: ErrorCode | undefined
  /** The failure last reported: the same one again (every retry) is not reported again. */
  #reported: ErrorCode | undefined
  #session: TransportSession | undefined
  #link: Link | undefined
  #retryTimer: unknown
  #attempt = 0
  #framesPerSecond: number
  #wanted = false
  /** The server welcomed a link of this transport: later links pipeline the outbox behind auth. */
  #welcomedOnce = false
  #closed = false
  #stopListening: (() => void) | undefined

  constructor(options: WebsocketTransportOptions) {
    if (typeof options.url !== 'string' || options.url.length === 0)
      throw new TidingsError('input/invalid', 'websocketTransport needs a url, e.g. wss://chat.example.com/.')
    if (typeof options.token !== 'string' && typeof options.token !== 'function')
      throw new TidingsError('input/invalid', 'websocketTransport needs a token: a string or a function.')
    const WebSocket = options.WebSocket ?? globalWebSocket()
    if (!WebSocket)
      throw new TidingsError(
        'input/invalid',
        "This platform has no global WebSocket: pass one, e.g. websocketTransport({ WebSocket }) with WebSocket from 'ws'.",
      )
    this.#options = options
    this.#WebSocket = WebSocket
    this.#timers = options.timers ?? defaultTimers
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff }
    this.#online = options.online ?? defaultOnline()
    this.#framesPerSecond = options.maxFramesPerSecond ?? 400
  }

  get state(): ConnectionState {
    return this.#status.state
  }

  /** The state with why the link is not online and the retry wait; the same object until it changes. */
  get linkStatus(): LinkStatus {
    return this.#status
  }

  get queued(): number {
    return this.#link?.queued ?? 0
  }

  get creditWindow(): number {
    return this.#link?.windowBytes ?? 0
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]) {
    return this.#events.on(event, listener)
  }

  /** Starts connecting, and reconnecting after every loss, until `disconnect` or `close`. */
  connect(session: TransportSession): void {
    if (this.#closed) return
    const known = this.#session
    if (known && (known.user !== session.user || known.device !== session.device)) this.#welcomedOnce = false
    this.#session = session
    this.#wanted = true
    // A fresh start: what stopped the last one (a disconnect, a refused token) is no reason now.
    this.#reason = undefined
    this.#reported = undefined
    this.#stopListening ??= this.#listen()
    if (!this.#link) this.#open()
  }

  /** Drops the link and stays offline until `connect` is called again. */
  disconnect(): void {
    this.#wanted = false
    this.#stopListening?.()
    this.#stopListening = undefined
    this.#cancelRetry()
    this.#link?.close()
    this.#link = undefined
    this.#reason = 'offline/switch'
    this.#setStatus('offline')
  }

  /** Follows a conversation, now and after every reconnect. */
  subscribe(conversation: ConversationId, have: () => Promise<DocVector[]>): void {
    if (this.#closed) return
    this.#subscriptions.set(conversation, have)
    const link = this.#link
    if (link?.ready) {
      link.subscribe(conversation)
      this.#progress(link)
    }
  }

  /** Stops following a conversation; its frames not yet sent are dropped. */
  unsubscribe(conversation: ConversationId): void {
    this.#subscriptions.delete(conversation)
    this.#link?.unsubscribe(conversation)
  }

  /** Queues an update by lane; dropped unless the server has welcomed the current link. */
  send(update: OutgoingUpdate): void {
    if (this.state === 'syncing' || this.state === 'online') this.#link?.send(update)
  }

  /** Publishes presence to a subscribed conversation; dropped while offline (core publishes again on `synced`). */
  sendAwareness(conversation: ConversationId, update: Uint8Array): void {
    if (this.state === 'syncing' || this.state === 'online') this.#link?.sendAwareness(conversation, update)
  }

  /** Stops for good. */
  async close(): Promise<void> {
    this.disconnect()
    this.#closed = true
    this.#subscriptions.clear()
  }

  #open() {
    this.#cancelRetry()
    const session = this.#session!
    const options = this.#options
    const token = options.token
    const host: LinkHost = {
      url: options.url,
      token: typeof token === 'function' ? token : () => token,
      WebSocket: this.#WebSocket,
      session,
      pingInterval: options.pingInterval ?? 5000,
      pingTimeout: options.pingTimeout ?? 12_000,
      maxBufferedBytes: options.maxBufferedBytes ?? 16 * 1024,
      framesPerSecond: this.#framesPerSecond,
      maxPayload: options.maxPayload ?? 1024 * 1024,
      timers: this.#timers,
      now: options.now ?? Date.now,
      subscriptions: this.#subscriptions,
      manifests: this.#manifests,
      events: this.#events,
      report: (error) => this.#report(error),
      // The client resends its whole outbox on `syncing`. Once the server has welcomed this session,
      // the outbox follows the auth and the subscriptions at once, without waiting for answers; a
      // session never welcomed yet (a new device, a new token) waits for its first welcome.
      ready: (link) => {
        if (link === this.#link && this.#welcomedOnce) this.#setStatus('syncing')
      },
      welcomed: (link) => {
        if (link !== this.#link) return
        this.#welcomedOnce = true
        this.#attempt = 0
        this.#reason = undefined
        this.#reported = undefined
        this.#setStatus('syncing')
        this.#progress(link)
      },
      progress: (link) => this.#progress(link),
      slowDown: () => {
        this.#framesPerSecond = Math.max(10, this.#framesPerSecond / 2)
      },
      lost: (link, failure) => this.#lost(link, failure),
    }
    this.#setStatus('connecting')
    try {
      this.#link = new Link(host)
    } catch (error) {
      // A constructor that throws (a bad url) is a failed attempt like any other.
      this.#link = undefined
      this.#fail(new TidingsError('input/invalid', `Opening ${options.url} failed.`, { cause: error }))
    }
  }

  #progress(link: Link) {
    if (link !== this.#link || !link.welcomed) return
    this.#setStatus(link.synced ? 'online' : 'syncing')
  }

  #lost(link: Link, failure: TidingsError) {
    if (link !== this.#link) return
    this.#link = undefined
    this.#fail(failure)
  }

  /** An attempt failed or a link dropped: report it (unless it is the same failure again) and retry. */
  #fail(failure: TidingsError) {
    this.#reason = failure.code
    // A refused token: the next attempt waits for its welcome before sending the outbox.
    if (failure.code === 'auth/denied') this.#welcomedOnce = false
    if (this.#reported !== failure.code) {
      this.#reported = failure.code
      this.#report(failure)
    }
    // A fixed token the server refused is refused again: retrying would only hammer the server.
    const hopeless = failure.code === 'auth/denied' && typeof this.#options.token !== 'function'
    if (this.#wanted && !hopeless) this.#scheduleRetry()
    else this.#setStatus('offline')
  }

  #report(error: TidingsError) {
    this.#options.onError?.(error)
    this.#events.emit('error', error)
  }

  #scheduleRetry() {
    if (this.#retryTimer !== undefined) return
    const delay = backoffDelay(this.#attempt++, this.#backoff, this.#options.random ?? Math.random)
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = undefined
      if (!this.#wanted || this.#link) return
      // An attempt the platform knows must fail only costs battery: wait more, or for 'online'.
      if (this.#online.isOnline()) this.#open()
      else {
        this.#reason = 'offline/platform'
        this.#scheduleRetry()
      }
    }, delay)
    this.#setStatus('offline', delay)
  }

  #cancelRetry() {
    if (this.#retryTimer === undefined) return
    this.#timers.clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
  }

  #listen(): () => void {
    const online = this.#online
    const stopOnline = online.subscribe(() => this.#onlineAgain())
    const stopOffline = online.subscribeOffline?.(() => this.#networkGone())
    return () => {
      stopOnline()
      stopOffline?.()
    }
  }

  /**
   * The platform says the network is gone: a socket on it can look open until the ping timeout, so
   * saying "online" meanwhile would be a lie. Drop it now; the retry waits for 'online'.
   */
  #networkGone() {
    if (!this.#wanted || this.#closed || !this.#link) return
    this.#link.close()
    this.#link = undefined
    this.#reason = 'offline/platform'
    this.#scheduleRetry()
  }

  /** The platform says the network is back: waiting out a backoff would only delay the user. */
  #onlineAgain() {
    if (!this.#wanted || this.#closed) return
    if (this.#retryTimer !== undefined) this.#open()
    else if (this.#link && !this.#link.welcomed) {
      // An attempt begun on the old network may hang until its timeout: start over on the new one.
      this.#link.close()
      this.#link = undefined
      this.#open()
    }
  }

  /** Moves to `state` with the current reason (none once online or syncing) and the retry wait. */
  #setStatus(state: ConnectionState, retryInMs?: number) {
    const reason = state === 'syncing' || state === 'online' ? undefined : this.#reason
    const last = this.#status
    if (last.state === state && last.reason === reason && last.retryInMs === retryInMs) return
    this.#status = Object.freeze({
      state,
      ...(reason !== undefined && { reason }),
      ...(retryInMs !== undefined && { retryInMs }),
    })
    if (last.state !== state) this.#events.emit('connection', state)
    this.#events.emit('link-status', this.#status)
  }
}
