import {
  type ConversationId,
  type DocVector,
  type Emitter,
  isEmptyUpdate,
  type OutgoingUpdate,
  TidingsError,
  type Timers,
  type TransportEvents,
  type TransportSession,
} from '@tidings/core'
import { decodeFrame, encodeFrame, type Frame, type FrameOf } from '@tidings/protocol'
import { ConversationSync, conversationOf, ManifestMemory } from './conversation-sync.js'
import { toErrorCode } from './error-codes.js'
import { failureOf } from './failure.js'
import { Heartbeat } from './heartbeat.js'
import { OPEN, type WebSocketConstructor, type WebSocketLike } from './platform.js'
import { Sender } from './sender.js'

/** How far the measured offset may wander (round-trip noise) before core is told again, ms. */
const OFFSET_STEP = 1000

export type Have = () => Promise<DocVector[]>

/** Everything a link needs from the transport that owns it. */
export interface LinkHost {
  readonly url: string
  readonly token: () => string | Promise<string>
  readonly WebSocket: WebSocketConstructor
  readonly session: TransportSession
  readonly pingInterval: number
  readonly pingTimeout: number
  readonly maxBufferedBytes: number
  /** Largest frame the server reads; a bigger one would make it close the connection. */
  readonly maxPayload: number
  /** Frames per second this link may send. */
  readonly framesPerSecond: number
  readonly timers: Timers
  readonly now: () => number
  readonly subscriptions: ReadonlyMap<ConversationId, Have>
  /** What the manifests said per conversation, kept across connections. */
  readonly manifests: Map<string, ManifestMemory>
  readonly events: Emitter<TransportEvents>
  report(error: TidingsError): void
  /** The auth frame left: subscriptions and updates may follow it at once (the server reads in order). */
  ready(link: Link): void
  /** The server welcomed this link. */
  welcomed(link: Link): void
  /** A subscription started or finished syncing. */
  progress(link: Link): void
  /** The server refused frames for rate: the next links should send fewer. */
  slowDown(): void
  /** The socket is gone (closed, failed or declared dead), for the reason `failure` says. */
  lost(link: Link, failure: TidingsError): void
}

/**
 * One socket, from open to loss: auth, subscriptions, the initial sync, lane-ordered sending under
 * credit, acks and the heartbeat. Everything here is forgotten with the socket; the transport
 * starts a new link to reconnect.
 */
export class Link {
  readonly #host: LinkHost
  readonly #socket: WebSocketLike
  readonly #heartbeat: Heartbeat
  readonly #syncs = new Map<string, ConversationSync>()
  readonly #sender: Sender
  #welcomed = false
  /** The auth frame was written: everything else may follow it without waiting for the welcome. */
  #ready = false
  /** The offset last reported to core, undefined until the first pong of this link. */
  #offset: number | undefined
  /** A `clock/skew` refusal came: the next pong reports the offset even when it did not move. */
  #offsetAsked = false
  #ended = false
  #opened = false
  /** What the socket's error event carried: the close that follows is explained by it. */
  #socketError: unknown
  /** The server's error frame before its welcome: it closes the socket next. */
  #refusal: TidingsError | undefined

  constructor(host: LinkHost) {
    this.#host = host
    this.#socket = new host.WebSocket(host.url)
    this.#socket.binaryType = 'arraybuffer'
    this.#sender = new Sender({
      timers: host.timers,
      now: host.now,
      maxBufferedBytes: host.maxBufferedBytes,
      framesPerSecond: host.framesPerSecond,
      open: () => !this.#ended && this.#socket.readyState === OPEN,
      buffered: () => this.#socket.bufferedAmount,
      write: (frame) => this.#writeNow(frame),
      // Not held for the subscription's answer: the server handles frames in order, so an update
      // written after its subscribe is read after it (issue #12: urgent must not wait round trips).
      gate: (conversation) => (this.#syncs.get(conversation)?.phase === 'refused' ? 'drop' : 'go'),
    })
    this.#heartbeat = new Heartbeat({
      interval: host.pingInterval,
      timeout: host.pingTimeout,
      timers: host.timers,
      now: host.now,
      ping: () => this.#write({ type: 'ping', time: host.now() }),
      dead: () =>
        this.#end(
          new TidingsError('network/lost', `${host.url} did not answer for ${host.pingTimeout} ms.`),
          true,
        ),
    })
    this.#socket.onopen = () => {
      this.#opened = true
      void this.#authenticate()
    }
    this.#socket.onmessage = (event) => this.#receive(event.data)
    this.#socket.onclose = (event) => {
      const end = { opened: this.#opened, closeCode: event.code, closeReason: event.reason }
      this.#end(failureOf(host.url, { ...end, error: this.#socketError, refusal: this.#refusal }))
    }
    // A failed socket also closes; the close handler explains it with what `ws` put here.
    this.#socket.onerror = (event) => {
      this.#socketError = (event as { error?: unknown } | undefined)?.error ?? event
    }
  }

  /** True once the server welcomed this link. */
  get welcomed(): boolean {
    return this.#welcomed
  }

  /** True once the auth frame left: subscriptions and updates may be written. */
  get ready(): boolean {
    return this.#ready
  }

  /** Frames waiting in the lane queues. */
  get queued(): number {
    return this.#sender.queued
  }

  /** Outbox bytes that may be unacknowledged now, sized from the measured link. */
  get windowBytes(): number {
    return this.#sender.windowBytes
  }

  /** True when every subscription finished its initial sync (or was refused). */
  get synced(): boolean {
    for (const sync of this.#syncs.values())
      if (sync.phase === 'subscribing' || sync.phase === 'syncing') return false
    return true
  }

  /** Closes the socket without waiting for the other side. */
  close(): void {
    this.#end(undefined)
  }

  /** Subscribes on this connection (no-op when already subscribed here). */
  subscribe(conversation: ConversationId): void {
    if (!this.#ready || this.#syncs.has(conversation)) return
    let memory = this.#host.manifests.get(conversation)
    if (!memory) {
      memory = new ManifestMemory(conversation)
      this.#host.manifests.set(conversation, memory)
    }
    this.#syncs.set(conversation, new ConversationSync(conversation, memory))
    this.#write({ type: 'subscribe', conversation, version: memory.version })
  }

  /** Unsubscribes and drops the conversation's frames that have not left yet. */
  unsubscribe(conversation: ConversationId): void {
    if (!this.#syncs.delete(conversation)) return
    this.#write({ type: 'unsubscribe', conversation })
    this.#sender.drop(conversation)
    this.#host.progress(this)
  }

  /** Queues an update in its lane (see Sender for credit and order). */
  send(update: OutgoingUpdate): void {
    if (!this.#ready || this.#ended) return
    // The server closes the connection on a frame past its limit (1009), and would again after every
    // reconnect: an update that can never go is refused here instead.
    if (update.update.length + 3 * update.doc.length + 24 <= this.#host.maxPayload) {
      this.#sender.send(update)
      return
    }
    const reason = `${update.update.length} bytes exceed the server's frame limit of ${this.#host.maxPayload}`
    const key = update.key
    if (key === undefined) this.#host.report(new TidingsError('input/too-large', `Not sent: ${reason}`))
    // Deferred: core may be iterating its outbox when it calls send.
    else queueMicrotask(() => this.#host.events.emit('refused', { key, code: 'input/too-large', reason }))
  }

  /** Queues presence for a conversation subscribed on this connection; dropped otherwise. */
  sendAwareness(conversation: ConversationId, update: Uint8Array): void {
    const phase = this.#syncs.get(conversation)?.phase
    if (!this.#ready || this.#ended || phase === undefined || phase === 'refused') return
    this.#write({ type: 'awareness', conversation, update })
  }

  /** Queues a frame that is not an update: it goes before them, at the sender's pace. */
  #write(frame: Frame) {
    this.#sender.control(frame)
  }

  #writeNow(frame: Frame) {
    if (this.#ended || this.#socket.readyState !== OPEN) return
    this.#socket.send(encodeFrame(frame))
  }

  async #authenticate() {
    let token: string
    try {
      token = await this.#host.token()
    } catch (error) {
      this.#end(new TidingsError('auth/denied', 'Getting the token failed.', { cause: error }))
      return
    }
    if (this.#ended) return
    this.#writeNow({ type: 'auth', token, device: this.#host.session.device })
    // Pipelined behind the auth: subscriptions, then (once the transport says `syncing`) the outbox.
    // The server holds them until the auth succeeds and handles them in order, so the first urgent
    // frame leaves one round trip after the socket opens instead of three.
    this.#ready = true
    // The ping first: its pong gives the clock offset before any refusal for clock skew comes back,
    // as core re-stamps against the offset it has when the refusal arrives.
    this.#heartbeat.startPinging()
    for (const conversation of this.#host.subscriptions.keys()) this.subscribe(conversation)
    this.#host.ready(this)
  }

  #receive(data: unknown) {
    if (this.#ended) return
    this.#heartbeat.heard()
    let frame: Frame
    try {
      if (!(data instanceof ArrayBuffer)) throw new Error('a text frame')
      frame = decodeFrame(new Uint8Array(data))
    } catch (error) {
      this.#host.report(
        new TidingsError(
          'protocol/malformed',
          `Unreadable frame from the server: ${(error as Error).message}`,
        ),
      )
      return
    }
    switch (frame.type) {
      case 'welcome':
        return this.#welcome(frame.user)
      case 'manifest':
        return this.#manifest(frame)
      case 'sync-step1':
        return this.#step1(frame)
      case 'sync-step2':
        return this.#step2(frame)
      case 'update':
        return this.#update(frame.doc, frame.update)
      case 'ack':
        return this.#ack(frame.refs)
      case 'error':
        return this.#error(frame)
      case 'pong':
        return this.#pong(frame)
      case 'awareness':
        return this.#awareness(frame)
      default:
        // The other types never travel to a client.
        return
    }
  }

  #welcome(user: string) {
    if (this.#welcomed) return
    const { session } = this.#host
    // A valid token of another user: every write would be refused, one obscure refusal at a time.
    if (user !== session.user) {
      const fix = `give it a token of ${session.user}'s, or a client and storage of ${user}'s`
      this.#end(
        new TidingsError(
          'auth/denied',
          `The token signs in as ${user}, but this client is ${session.user}'s: ${fix}.`,
        ),
      )
      return
    }
    this.#welcomed = true
    this.#host.welcomed(this)
  }

  #manifest(frame: FrameOf<'manifest'>) {
    const sync = this.#syncs.get(frame.conversation)
    if (!sync || sync.phase === 'refused') return
    sync.manifest(frame.full, frame.version, frame.changes)
    void this.#requestDocs(sync)
  }

  async #requestDocs(sync: ConversationSync) {
    const have = this.#host.subscriptions.get(sync.conversation as ConversationId)
    if (!have) return
    sync.listing++
    let held: DocVector[]
    try {
      held = await have()
    } catch (error) {
      const why = `Listing the docs of ${sync.conversation} failed.`
      this.#end(new TidingsError('client/unexpected', why, { cause: error }))
      return
    } finally {
      sync.listing--
    }
    if (this.#ended || this.#syncs.get(sync.conversation) !== sync) return
    for (const step of sync.toRequest(held)) this.#write({ type: 'sync-step1', ...step })
    this.#finish(sync)
  }

  #finish(sync: ConversationSync) {
    if (!sync.finish()) return
    this.#host.events.emit('synced', { conversation: sync.conversation as ConversationId })
    this.#host.progress(this)
  }

  /** The subscription a frame about `doc` belongs to, if it is live on this connection. */
  #syncOf(doc: string): ConversationSync | undefined {
    const sync = this.#syncs.get(conversationOf(doc))
    return sync && sync.phase !== 'refused' ? sync : undefined
  }

  #step1(frame: FrameOf<'sync-step1'>) {
    const sync = this.#syncOf(frame.doc)
    if (!sync) return
    this.#sender.owe(frame.doc)
    this.#host.events.emit('sync-request', {
      conversation: sync.conversation as ConversationId,
      doc: frame.doc,
      stateVector: frame.stateVector,
    })
  }

  #step2(frame: FrameOf<'sync-step2'>) {
    const sync = this.#syncOf(frame.doc)
    if (!sync) return
    this.#update(frame.doc, frame.update)
    sync.answered(frame.doc)
    this.#finish(sync)
  }

  #update(doc: string, update: Uint8Array) {
    const sync = this.#syncOf(doc)
    if (!sync || isEmptyUpdate(update)) return
    this.#host.events.emit('update', { conversation: sync.conversation as ConversationId, doc, update })
  }

  #awareness(frame: FrameOf<'awareness'>) {
    const sync = this.#syncs.get(frame.conversation)
    if (!sync || sync.phase === 'refused') return
    this.#host.events.emit('awareness', {
      conversation: sync.conversation as ConversationId,
      update: frame.update,
    })
  }

  #ack(refs: readonly number[]) {
    const keys = this.#sender.ack(refs)
    if (keys.length > 0) this.#host.events.emit('ack', { keys })
  }

  #error(frame: FrameOf<'error'>) {
    const code = toErrorCode(frame.code)
    if (code === 'quota/exceeded') {
      // About timing, not content: telling core would drop the entry for good. The updates sent after
      // it would be refused too (they start past the server's state), so start over, slower.
      this.#host.slowDown()
      this.#end(new TidingsError(code, `The server refused frames for rate: ${frame.reason}`))
      return
    }
    if (!this.#welcomed) {
      // A refusal of the auth: the server closes next, and the close reports it once.
      this.#refusal = new TidingsError(code, frame.reason)
      return
    }
    const refused = frame.ref === 0 ? undefined : this.#sender.refuse(frame.ref)
    // Updates pipelined behind a subscription the server refused are refused for that: they stay in
    // core's outbox, unreported, and go again on the next connection.
    if (refused && this.#syncs.get(refused.conversation)?.phase === 'refused') return
    if (code === 'clock/skew') {
      // The local clock may have jumped since the offset was measured: measure it again now, so
      // core re-stamps within a round trip rather than at the next reconnect.
      this.#offsetAsked = true
      this.#write({ type: 'ping', time: this.#host.now() })
    }
    if (refused) {
      // A merged frame's entries go again one by one: each will get its own answer.
      if (refused.key !== undefined)
        this.#host.events.emit('refused', { key: refused.key, code, reason: frame.reason })
      return
    }
    this.#host.report(
      new TidingsError(code, `The server reported ${frame.code}: ${frame.reason}`, { subject: frame.doc }),
    )
    const sync = this.#syncs.get(frame.doc)
    if (sync && code === 'auth/denied') {
      // A refused subscription never syncs; it must not hold the link in `syncing` forever.
      sync.phase = 'refused'
      this.#sender.drop(frame.doc)
      this.#host.progress(this)
      return
    }
    // An error about a doc answers its step 1: no step 2 will come.
    const docSync = this.#syncOf(frame.doc)
    if (docSync) {
      docSync.answered(frame.doc)
      this.#finish(docSync)
    }
  }

  /**
   * Reports the server's clock offset at the first pong, whenever a later pong finds it moved by
   * more than OFFSET_STEP (the device's clock jumped while connected), and after a `clock/skew`
   * refusal.
   */
  #pong(frame: FrameOf<'pong'>) {
    const now = this.#host.now()
    const rtt = now - frame.time
    // A round trip below zero or past the timeout: the local clock jumped between ping and pong,
    // so the measure is off by the jump; the next pong tells.
    if (rtt < 0 || rtt > this.#host.pingTimeout) return
    const offset = frame.serverTime + rtt / 2 - now
    const moved = this.#offset === undefined || Math.abs(offset - this.#offset) > OFFSET_STEP
    if (!moved && !this.#offsetAsked) return
    this.#offset = offset
    this.#offsetAsked = false
    this.#host.events.emit('clock-offset', { offset })
  }

  /** Ends the link; `failure` says why, and is absent when the transport closed it. */
  #end(failure: TidingsError | undefined, dead = false) {
    if (this.#ended) return
    this.#ended = true
    this.#heartbeat.stop()
    this.#sender.stop()
    const socket = this.#socket
    socket.onopen = null
    socket.onmessage = null
    socket.onclose = null
    try {
      // A dead link may never finish a closing handshake: `ws` can drop it at once.
      const terminate = (socket as { terminate?: () => void }).terminate
      if (dead && typeof terminate === 'function') terminate.call(socket)
      else socket.close(1000)
    } catch {
      // Closing a socket that never opened throws in some implementations; it is gone either way.
    }
    if (failure) this.#host.lost(this, failure)
  }
}
