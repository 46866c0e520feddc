import type { Timers } from '@tidings/core'
import { messageAwareness, messageSync, WebsocketProvider } from 'y-websocket'
import { applyUpdate, Doc, encodeStateVector } from 'yjs'
import { AckTracker, type Waiting } from './ack-tracker.js'

// y-protocols sync message kinds (a one-byte varUint each).
const SYNC_STEP1 = 0
const SYNC_STEP2 = 1
/** An update the server does not hold yet (still committing, or dropped) is probed again this often… */
const RETRY_MS = 100
/** …up to this many times; then the client's next reconnect resends it. */
const MAX_TRIES = 8

/** Origin of updates that came from core, so the shadow doc's listener does not echo them back. */
const FROM_CORE = Symbol('tidings-core')

type SyncHandler = WebsocketProvider['messageHandlers'][number]
type Decoder = Parameters<SyncHandler>[1]
export type WebSocketPolyfill = NonNullable<
  ConstructorParameters<typeof WebsocketProvider>[3]
>['WebSocketPolyfill']

export interface RoomOptions {
  readonly url: string
  readonly room: string
  readonly params: Record<string, string>
  readonly WebSocket: WebSocketPolyfill
  readonly maxBackoffTime: number
  readonly timers: Timers
}

export interface RoomEvents {
  /** A remote update arrived in the shadow doc. */
  update(update: Uint8Array): void
  /** The socket (re)connected: core should fill the shadow doc beyond `stateVector`. */
  connected(stateVector: Uint8Array): void
  /** The server holds the updates of these keys. */
  ack(keys: string[]): void
  /** Connection or sync state changed. */
  changed(): void
  /** The server closed for good (a 4400–4499 close code). */
  closed(code: number, reason: string): void
  /** A y-protocols awareness update arrived in this room. */
  awareness(update: Uint8Array): void
}

/** A varUint at the decoder's position, and the position after it, without consuming anything. */
const peekVarUint = (decoder: Decoder, at = decoder.pos): [number, number] => {
  let value = 0
  let shift = 1
  let pos = at
  for (;;) {
    const byte = decoder.arr[pos++] ?? 0
    value += (byte & 0x7f) * shift
    shift *= 128
    if (byte < 0x80 || pos >= decoder.arr.length) return [value, pos]
  }
}

const encodeVarUint = (n: number): number[] => {
  const out: number[] = []
  while (n > 0x7f) {
    out.push(0x80 | (n & 0x7f))
    n = Math.floor(n / 128)
  }
  out.push(n)
  return out
}

/**
 * One doc on a stock y-websocket server: a shadow Y.Doc that the provider syncs, fed by core's
 * updates, with acks proven by probes (see AckTracker).
 */
export class Room {
  readonly doc = new Doc()
  readonly provider: WebsocketProvider
  readonly #events: RoomEvents
  readonly #timers: Timers
  readonly #acks = new AckTracker()
  /** The server's step 1 on this socket was answered: everything in the shadow doc went up. */
  #uploaded = false
  #probeScheduled = false
  #destroyed = false

  constructor(options: RoomOptions, events: RoomEvents) {
    this.#events = events
    this.#timers = options.timers
    this.provider = new WebsocketProvider(options.url, options.room, this.doc, {
      connect: false,
      params: options.params,
      WebSocketPolyfill: options.WebSocket,
      maxBackoffTime: options.maxBackoffTime,
      // Tabs have their own transport; here another tab would bypass the server and its acks.
      disableBc: true,
    })
    // Presence is per conversation in Tidings, not per doc: send none from the shadow docs.
    this.provider.awareness.setLocalState(null)
    const sync = this.provider.messageHandlers[messageSync]!
    this.provider.messageHandlers[messageSync] = this.#observe(sync)
    // Core keeps presence: the provider's own awareness (and its timers) never sees the updates.
    this.provider.messageHandlers[messageAwareness] = (_encoder, decoder) => {
      const [length, start] = peekVarUint(decoder)
      decoder.pos = start + length
      events.awareness(decoder.arr.slice(start, start + length))
    }
    this.provider.on('status', ({ status }) => {
      this.#acks.socket(status === 'connected')
      this.#uploaded = false
      if (status === 'connected') events.connected(encodeStateVector(this.doc))
      events.changed()
    })
    this.provider.on('sync', () => events.changed())
    this.provider.on('closed', ({ code, reason }) => events.closed(code, reason))
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === this.provider) events.update(update)
    })
  }

  get connected(): boolean {
    return this.provider.wsconnected
  }

  get synced(): boolean {
    return this.provider.wsconnected && this.provider.synced
  }

  /** Applies an update from core; the provider sends it if connected, else with the next sync. */
  apply(update: Uint8Array, key?: string): void {
    applyUpdate(this.doc, update, FROM_CORE)
    if (key !== undefined && this.#acks.add(key, update)) this.#scheduleProbe()
  }

  connect(): void {
    this.provider.connect()
  }

  /** Sends an awareness update on the room's socket; dropped while it is not open. */
  sendAwareness(update: Uint8Array): void {
    const ws = this.provider.ws
    if (ws?.readyState === 1)
      ws.send(new Uint8Array([messageAwareness, ...encodeVarUint(update.length), ...update]))
  }

  /** Disconnects and forgets the keys waiting for proof: core resends its outbox on reconnect. */
  disconnect(): void {
    this.#acks.clear()
    this.provider.disconnect()
  }

  destroy(): void {
    this.#destroyed = true
    this.disconnect()
    this.provider.awareness.destroy()
    this.provider.destroy()
    this.doc.destroy()
  }

  /**
   * Asks the server for news when the room was silent for `ms`: y-websocket drops a connection
   * that heard nothing for 30 s, and a shadow doc publishes no presence to keep it busy.
   */
  keepAlive(ms: number, now: number): void {
    if (this.provider.wsconnected && now - this.provider.wsLastMessageReceived >= ms) this.#probe(true)
  }

  /** Wraps the provider's sync handler to see the server's step 1s and the answers to ours. */
  #observe(handler: SyncHandler): SyncHandler {
    return (encoder, decoder, provider, emitSynced, messageType) => {
      const [kind, at] = peekVarUint(decoder)
      let payload: Uint8Array | undefined
      if (kind === SYNC_STEP2) {
        const [length, start] = peekVarUint(decoder, at)
        payload = decoder.arr.subarray(start, start + length)
      }
      handler(encoder, decoder, provider, emitSynced, messageType)
      if (payload) this.#answered(payload)
      else if (kind === SYNC_STEP1) {
        // Our answer leaves when this handler returns; a probe queued now follows it.
        this.#uploaded = true
        this.#scheduleProbe()
      }
    }
  }

  #answered(payload: Uint8Array) {
    const { acked, unproven } = this.#acks.answered(payload)
    if (acked.length > 0) this.#events.ack(acked)
    for (const w of unproven) this.#retryLater(w)
  }

  // The server may still be committing it: look again a little later, then leave it to the resend.
  #retryLater(w: Waiting) {
    if (w.tries >= MAX_TRIES) return this.#acks.giveUp(w)
    this.#timers.setTimeout(
      () => {
        if (!this.#destroyed && this.#acks.retry(w)) this.#scheduleProbe()
      },
      RETRY_MS * 2 ** w.tries,
    )
  }

  #scheduleProbe() {
    if (this.#probeScheduled) return
    this.#probeScheduled = true
    queueMicrotask(() => {
      this.#probeScheduled = false
      if (this.#uploaded && this.#acks.pending > 0) this.#probe(false)
    })
  }

  /** Sends a step 1 the provider does not know about; its answer proves the pending keys. */
  #probe(keepAlive: boolean) {
    const ws = this.provider.ws
    if (ws?.readyState !== 1) return
    // A keepalive before the upload must not take the pending keys: their updates may not be up yet.
    const vector = keepAlive && !this.#uploaded ? this.#acks.plain(this.doc) : this.#acks.probe(this.doc)
    ws.send(new Uint8Array([messageSync, SYNC_STEP1, ...encodeVarUint(vector.length), ...vector]))
  }
}
