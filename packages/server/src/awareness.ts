import * as decoding from 'lib0/decoding'
import {
  Awareness,
  applyAwarenessUpdate,
  encodeAwarenessUpdate,
  removeAwarenessStates,
} from 'y-protocols/awareness'
import * as Y from 'yjs'
import { Refusal } from './decode.js'

/** A connection taking part in a room's presence. */
export interface AwarenessPeer {
  /** y-websocket peers get their own changes back, as the stock server does (keeps their watchdog fed). */
  readonly echo: boolean
  sendAwareness(update: Uint8Array): void
}

/** Reads the client ids of an awareness update, refusing anything unreadable. */
const readClients = (update: Uint8Array): number[] => {
  try {
    const d = decoding.createDecoder(update)
    const clients: number[] = []
    const n = decoding.readVarUint(d)
    for (let i = 0; i < n; i++) {
      clients.push(decoding.readVarUint(d))
      decoding.readVarUint(d)
      JSON.parse(decoding.readVarString(d))
    }
    if (decoding.hasContent(d)) throw new Error('trailing bytes')
    return clients
  } catch (error) {
    throw new Refusal('protocol/malformed', `unreadable awareness update: ${(error as Error).message}`)
  }
}

/**
 * Presence of one conversation (or one y-websocket room): y-protocols awareness, where a client id
 * belongs to the connection that introduced it first, so nobody can publish or clear another
 * client's presence.
 */
export class AwarenessRoom {
  readonly awareness: Awareness
  readonly #owners = new Map<number, AwarenessPeer>()
  readonly #peers = new Set<AwarenessPeer>()

  constructor(private readonly maxPerPeer: number) {
    this.awareness = new Awareness(new Y.Doc())
    // The server has no presence of its own.
    this.awareness.setLocalState(null)
    this.awareness.on(
      'update',
      ({ added, updated, removed }: Record<'added' | 'updated' | 'removed', number[]>, origin: unknown) => {
        const changed = [...added, ...updated, ...removed]
        if (changed.length === 0 || this.#peers.size === 0) return
        const update = encodeAwarenessUpdate(this.awareness, changed)
        for (const peer of this.#peers) if (peer !== origin || peer.echo) peer.sendAwareness(update)
      },
    )
  }

  get size(): number {
    return this.#peers.size
  }

  /** Adds a peer and sends it everyone's presence. */
  join(peer: AwarenessPeer): void {
    this.#peers.add(peer)
    const clients = [...this.awareness.getStates().keys()]
    if (clients.length > 0) peer.sendAwareness(encodeAwarenessUpdate(this.awareness, clients))
  }

  /** Sends a peer everyone's presence (y-websocket's query-awareness). */
  snapshot(peer: AwarenessPeer): void {
    const clients = [...this.awareness.getStates().keys()]
    peer.sendAwareness(encodeAwarenessUpdate(this.awareness, clients))
  }

  /** Removes a peer and clears the presence it published. */
  leave(peer: AwarenessPeer): void {
    if (!this.#peers.delete(peer)) return
    const owned = [...this.#owners].filter(([, owner]) => owner === peer).map(([client]) => client)
    for (const client of owned) this.#owners.delete(client)
    if (owned.length > 0) removeAwarenessStates(this.awareness, owned, 'leave')
  }

  /**
   * Applies a peer's awareness update and relays it.
   * @throws Refusal when it is unreadable, names a client id another connection introduced, or
   * introduces more than `maxPerPeer` client ids
   */
  apply(peer: AwarenessPeer, update: Uint8Array): void {
    const clients = readClients(update)
    let introduced = 0
    for (const client of clients) {
      const owner = this.#owners.get(client)
      if (owner === undefined) introduced++
      else if (owner !== peer) {
        throw new Refusal('permission/denied', `awareness client ${client} belongs to another connection`)
      }
    }
    if (introduced > 0) {
      let owned = 0
      for (const owner of this.#owners.values()) if (owner === peer) owned++
      if (owned + introduced > this.maxPerPeer) {
        throw new Refusal('quota/exceeded', `more than ${this.maxPerPeer} awareness clients`)
      }
    }
    for (const client of clients) this.#owners.set(client, peer)
    applyAwarenessUpdate(this.awareness, update, peer)
  }

  destroy(): void {
    this.#peers.clear()
    this.awareness.destroy()
  }
}
