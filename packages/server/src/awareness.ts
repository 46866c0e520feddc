import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
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
  /** The authenticated user: stamped into every state this peer publishes, and owner of its ids. */
  readonly user: string
  /** y-websocket peers get their own changes back, as the stock server does (keeps their watchdog fed). */
  readonly echo: boolean
  sendAwareness(update: Uint8Array): void
}

interface Entry {
  readonly client: number
  readonly clock: number
  readonly state: Record<string, unknown> | null
}

/**
 * Reads an awareness update, refusing anything unreadable and any state that is neither an object
 * nor null (removal): the server writes `user` into each state, so a state must have fields.
 */
const readEntries = (update: Uint8Array): Entry[] => {
  const entries: Entry[] = []
  try {
    const d = decoding.createDecoder(update)
    const n = decoding.readVarUint(d)
    for (let i = 0; i < n; i++) {
      const client = decoding.readVarUint(d)
      const clock = decoding.readVarUint(d)
      const state: unknown = JSON.parse(decoding.readVarString(d))
      if (state !== null && (typeof state !== 'object' || Array.isArray(state)))
        throw new Error(`the state of client ${client} is not an object`)
      entries.push({ client, clock, state: state as Entry['state'] })
    }
    if (decoding.hasContent(d)) throw new Error('trailing bytes')
  } catch (error) {
    throw new Refusal('protocol/malformed', `unreadable awareness update: ${(error as Error).message}`)
  }
  return entries
}

/** Encodes entries as y-protocols does, each state with `user` set to the publisher. */
const stamped = (entries: readonly Entry[], user: string): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, entries.length)
  for (const { client, clock, state } of entries) {
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, clock)
    encoding.writeVarString(e, JSON.stringify(state === null ? null : { ...state, user }))
  }
  return encoding.toUint8Array(e)
}

/** Who holds an awareness client id: its user always, and the connection publishing it while open. */
interface Claim {
  readonly user: string
  peer: AwarenessPeer | undefined
}

/**
 * Presence of one conversation (or one y-websocket room): y-protocols awareness, stamped by the
 * server. Every state a peer publishes gets `user` set to the peer's authenticated user, whatever
 * it claimed. A client id belongs to the user whose connection introduced it first: no other user
 * may publish or clear it, also after that connection closed (the owner reconnecting with the same
 * id gets it back, even from a half-open old connection of theirs). A claim lasts as long as this
 * room: while anyone is in it, and until the server sweeps it (`docIdleMs` after the last one left);
 * a user keeps at most `maxPerPeer` claims of closed connections, the oldest forgotten first.
 */
export class AwarenessRoom {
  readonly awareness: Awareness
  /** In insertion order: released claims are re-inserted, so the first released one is the oldest. */
  readonly #claims = new Map<number, Claim>()
  readonly #peers = new Set<AwarenessPeer>()
  #emptySince: number

  constructor(
    private readonly maxPerPeer: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#emptySince = now()
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

  /** Milliseconds since the last peer left; 0 while anyone is in the room. */
  idleFor(): number {
    return this.#peers.size > 0 ? 0 : this.now() - this.#emptySince
  }

  /** Adds a peer and sends it everyone's presence. */
  /** The user who claimed this client id, while the claim lasts. */
  ownerOf(client: number): string | undefined {
    return this.#claims.get(client)?.user
  }

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

  /** Removes a peer and clears the presence it published; its user keeps the ids. */
  leave(peer: AwarenessPeer): void {
    if (!this.#peers.delete(peer)) return
    if (this.#peers.size === 0) this.#emptySince = this.now()
    const owned: number[] = []
    for (const [client, claim] of this.#claims) {
      if (claim.peer !== peer) continue
      owned.push(client)
      claim.peer = undefined
      this.#claims.delete(client)
      this.#claims.set(client, claim)
    }
    this.#forgetReleased(peer.user)
    if (owned.length > 0) removeAwarenessStates(this.awareness, owned, 'leave')
  }

  /**
   * Applies a peer's awareness update, stamped with the peer's user, and relays it.
   * @throws Refusal when it is unreadable, holds a state that is not an object, names a client id
   * another user introduced, or would leave the peer publishing more than `maxPerPeer` client ids
   */
  apply(peer: AwarenessPeer, update: Uint8Array): void {
    const entries = readEntries(update)
    let taken = 0
    for (const { client } of entries) {
      const claim = this.#claims.get(client)
      if (claim && claim.user !== peer.user) {
        throw new Refusal('permission/denied', `awareness client ${client} belongs to another user`)
      }
      if (claim?.peer !== peer) taken++
    }
    if (taken > 0) {
      let owned = 0
      for (const claim of this.#claims.values()) if (claim.peer === peer) owned++
      if (owned + taken > this.maxPerPeer) {
        throw new Refusal('quota/exceeded', `more than ${this.maxPerPeer} awareness clients`)
      }
    }
    for (const { client } of entries) {
      const claim = this.#claims.get(client)
      // The same user's newer connection takes the id over: the old one leaving no longer clears it.
      if (claim) claim.peer = peer
      else this.#claims.set(client, { user: peer.user, peer })
    }
    applyAwarenessUpdate(this.awareness, stamped(entries, peer.user), peer)
  }

  destroy(): void {
    this.#peers.clear()
    this.#claims.clear()
    this.awareness.destroy()
  }

  /** Keeps a user's claims of closed connections to `maxPerPeer`, dropping the oldest. */
  #forgetReleased(user: string): void {
    const released = [...this.#claims].filter(([, c]) => c.user === user && c.peer === undefined)
    for (const [client] of released.slice(0, Math.max(0, released.length - this.maxPerPeer))) {
      this.#claims.delete(client)
      this.awareness.meta.delete(client)
    }
  }
}
