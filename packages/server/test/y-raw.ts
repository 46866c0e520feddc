import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { afterEach } from 'vitest'
import WebSocket from 'ws'
import { messageYjsSyncStep1, messageYjsSyncStep2, messageYjsUpdate } from 'y-protocols/sync'

/** y-websocket message types, as its server utils number them. */
const messageSync = 0
const messageAwareness = 1
const messageQueryAwareness = 3

/** One awareness entry as y-protocols encodes it. */
export interface AwarenessEntry {
  readonly client: number
  readonly clock: number
  readonly state: unknown
}

/** Encodes awareness entries the way `encodeAwarenessUpdate` does, with any state a peer likes. */
export const encodeAwareness = (entries: readonly AwarenessEntry[]): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, entries.length)
  for (const { client, clock, state } of entries) {
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, clock)
    encoding.writeVarString(e, JSON.stringify(state))
  }
  return encoding.toUint8Array(e)
}

/** Decodes an awareness update into its entries. */
export const decodeAwareness = (update: Uint8Array): AwarenessEntry[] => {
  const d = decoding.createDecoder(update)
  const entries: AwarenessEntry[] = []
  const n = decoding.readVarUint(d)
  for (let i = 0; i < n; i++) {
    entries.push({
      client: decoding.readVarUint(d),
      clock: decoding.readVarUint(d),
      state: JSON.parse(decoding.readVarString(d)),
    })
  }
  return entries
}

const sockets: WebSocket[] = []
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.terminate()
})

/**
 * A raw y-websocket client on `/y/<room>` speaking the frames of y-websocket's protocol itself, so
 * tests can send what no stock provider would (another client's awareness id, a forged `user`).
 */
export class RawY {
  /** Every awareness entry received, latest per client id. */
  readonly states = new Map<number, AwarenessEntry>()
  /** Every awareness entry received, in order. */
  readonly awarenessLog: AwarenessEntry[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  readonly #waiters = new Set<() => void>()

  constructor(readonly ws: WebSocket) {
    sockets.push(ws)
    ws.binaryType = 'nodebuffer'
    ws.on('message', (data: Buffer) => this.#receive(new Uint8Array(data)))
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    )
  }

  static url(base: string, room: string, params: Record<string, string>): string {
    return `${base}/y/${encodeURIComponent(room)}?${new URLSearchParams(params)}`
  }

  /** Opens a socket to `/y/<room>` with query parameters (token, device). */
  static async open(base: string, room: string, params: Record<string, string>): Promise<RawY> {
    const client = new RawY(new WebSocket(RawY.url(base, room, params)))
    await new Promise<void>((resolve, reject) => {
      client.ws.once('open', () => resolve())
      client.ws.once('error', reject)
    })
    return client
  }

  /** Server step 2s received (their payloads), in order. */
  readonly step2s: Uint8Array[] = []
  /** Updates the server relayed, in order. */
  readonly updates: Uint8Array[] = []

  sendAwareness(entries: readonly AwarenessEntry[]): void {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, messageAwareness)
    encoding.writeVarUint8Array(e, encodeAwareness(entries))
    this.ws.send(encoding.toUint8Array(e))
  }

  sendUpdate(update: Uint8Array): void {
    this.ws.send(syncFrame(messageYjsUpdate, update))
  }

  sendStep1(stateVector: Uint8Array): void {
    this.ws.send(syncFrame(messageYjsSyncStep1, stateVector))
  }

  /**
   * Round trip: a step 1 of an empty state vector, answered once every earlier frame was handled
   * (the server handles a connection's frames in order). Resolves with the step 2 it got.
   */
  async barrier(): Promise<Uint8Array> {
    const count = this.step2s.length
    this.sendStep1(new Uint8Array([0]))
    await this.until(() => this.step2s.length > count)
    return this.step2s[count]!
  }

  /** Asks for everyone's presence and waits until every earlier frame was handled. */
  async queryAwareness(): Promise<void> {
    this.ws.send(new Uint8Array([messageQueryAwareness]))
    await this.barrier()
  }

  /** Resolves once `check` holds, re-checked after each received message. */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve()
    return new Promise((resolve) => {
      const waiter = () => {
        if (!check()) return
        this.#waiters.delete(waiter)
        resolve()
      }
      this.#waiters.add(waiter)
    })
  }

  #receive(bytes: Uint8Array): void {
    const d = decoding.createDecoder(bytes)
    const type = decoding.readVarUint(d)
    if (type === messageSync) {
      const kind = decoding.readVarUint(d)
      const payload = decoding.readVarUint8Array(d)
      if (kind === messageYjsSyncStep2) this.step2s.push(payload)
      else if (kind === messageYjsUpdate) this.updates.push(payload)
    } else if (type === messageAwareness) {
      for (const entry of decodeAwareness(decoding.readVarUint8Array(d))) {
        this.states.set(entry.client, entry)
        this.awarenessLog.push(entry)
      }
    }
    for (const waiter of [...this.#waiters]) waiter()
  }
}

/** A y-websocket sync message. */
export const syncFrame = (kind: number, payload: Uint8Array): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, messageSync)
  encoding.writeVarUint(e, kind)
  encoding.writeVarUint8Array(e, payload)
  return encoding.toUint8Array(e)
}
