import { encodeAwareness } from '@tidings/core'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import {
  Awareness,
  applyAwarenessUpdate,
  encodeAwarenessUpdate,
  removeAwarenessStates,
} from 'y-protocols/awareness'
import * as Y from 'yjs'
import { isJson, Refusal } from './decode.js'

/**
 * What one connection's presence may hold on the server (`maxAwarenessStateBytes`,
 * `maxAwarenessBytes`): the server keeps every state for later joiners and relays it to everyone,
 * so a member publishing big states under many ids would otherwise hold memory without bound.
 * One per connection, shared by all the rooms it publishes in.
 */
export class AwarenessBytes {
  /** Bytes of the states this connection's ids hold now, over all its rooms. */
  used = 0

  constructor(
    /** Largest state in bytes (its JSON as sent). */
    readonly maxState: number,
    /** Bytes all of the connection's states may hold together. */
    readonly maxTotal: number,
  ) {}
}

/** A connection taking part in a room's presence. */
export interface AwarenessPeer {
  /** The authenticated user: stamped into every state this peer publishes, and owner of its ids. */
  readonly user: string
  /**
   * The authenticated device, stamped into every state as `device`; without one (a `/y/` client
   * that named none) a claimed `device` is removed, so no state names a device it was not sent from.
   */
  readonly device: string | undefined
  /** y-websocket peers get their own changes back, as the stock server does (keeps their watchdog fed). */
  readonly echo: boolean
  /** The connection's presence bytes, charged for every state its ids hold. */
  readonly bytes: AwarenessBytes
  sendAwareness(update: Uint8Array): void
}

interface Entry {
  readonly client: number
  readonly clock: number
  readonly state: Record<string, unknown> | null
  /** Bytes of the state's JSON as sent (0 for a removal). */
  readonly size: number
}

const utf8 = new TextDecoder()

/**
 * Reads an awareness update, refusing anything unreadable, any state that is neither an object
 * nor null (removal): the server writes `user` into each state, so a state must have fields; any
 * state that is not plain JSON within `isJson`'s depth (re-encoding a deeper one overflows the
 * stack); and, before parsing it, any state larger than `maxState` bytes (`quota/exceeded`).
 */
const readEntries = (update: Uint8Array, maxState: number): Entry[] => {
  const entries: Entry[] = []
  try {
    const d = decoding.createDecoder(update)
    const n = decoding.readVarUint(d)
    for (let i = 0; i < n; i++) {
      const client = decoding.readVarUint(d)
      const clock = decoding.readVarUint(d)
      const json = decoding.readVarUint8Array(d)
      if (json.length > maxState) {
        throw new Refusal('quota/exceeded', `an awareness state of ${json.length} bytes; at most ${maxState}`)
      }
      const state: unknown = JSON.parse(utf8.decode(json))
      if (state !== null && (typeof state !== 'object' || Array.isArray(state)))
        throw new Error(`the state of client ${client} is not an object`)
      if (!isJson(state))
        throw new Error(`the state of client ${client} is not plain JSON or nested too deep`)
      entries.push({ client, clock, state: state as Entry['state'], size: state === null ? 0 : json.length })
    }
    if (decoding.hasContent(d)) throw new Error('trailing bytes')
  } catch (error) {
    if (error instanceof Refusal) throw error
    // A RangeError (stack overflow) included: refused and counted like any unreadable update.
    throw new Refusal('protocol/malformed', `unreadable awareness update: ${(error as Error).message}`)
  }
  return entries
}

/** Encodes entries as y-protocols does, each state with `user` and `device` set to the publisher's. */
const stamped = (entries: readonly Entry[], peer: AwarenessPeer): Uint8Array => {
  const { user, device } = peer
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, entries.length)
  for (const { client, clock, state } of entries) {
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, clock)
    let json: Record<string, unknown> | null = null
    if (state !== null) {
      const { device: _claimed, ...fields } = state
      json = device === undefined ? { ...fields, user } : { ...fields, user, device }
    }
    encoding.writeVarString(e, JSON.stringify(json))
  }
  return encoding.toUint8Array(e)
}

/** Who holds an awareness client id: its user always, and the connection publishing it while open. */
interface Claim {
  readonly user: string
  peer: AwarenessPeer | undefined
  /** Bytes of the id's state, charged to `peer.bytes` while `peer` is set. */
  bytes: number
}

/**
 * Presence of one conversation (or one y-websocket room): y-protocols awareness, stamped by the
 * server. Every state a peer publishes gets `user` and `device` set to the peer's authenticated
 * user and device, whatever it claimed. A client id belongs to the user whose connection introduced it first: no other user
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
    /** Told of every change a local peer makes (stamped), for the other processes of a cluster. */
    private readonly relay?: (user: string, update: Uint8Array) => void,
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
      peer.bytes.used -= claim.bytes
      claim.bytes = 0
      claim.peer = undefined
      this.#claims.delete(client)
      this.#claims.set(client, claim)
    }
    this.#forgetReleased(peer.user)
    if (owned.length === 0) return
    removeAwarenessStates(this.awareness, owned, 'leave')
    this.relay?.(peer.user, encodeAwarenessUpdate(this.awareness, owned))
  }

  /**
   * Applies presence another process of the cluster accepted from `user` (stamped there). Its
   * client ids are claimed for `user` here too; an entry for an id another user holds is skipped.
   */
  applyRemote(user: string, update: Uint8Array): void {
    // The publishing process enforced the per-state size; the bound here only keeps reading linear.
    const entries = readEntries(update, Number.MAX_SAFE_INTEGER).filter(({ client }) => {
      const claim = this.#claims.get(client)
      if (claim && claim.user !== user) return false
      if (!claim) this.#claims.set(client, { user, peer: undefined, bytes: 0 })
      return true
    })
    if (entries.length === 0) return
    applyAwarenessUpdate(this.awareness, encodeAwareness(entries), 'remote')
  }

  /**
   * Applies a peer's awareness update, stamped with the peer's user, and relays it.
   * @throws Refusal when it is unreadable, holds a state that is not an object, names a client id
   * another user introduced, would leave the peer publishing more than `maxPerPeer` client ids, or
   * would make its states hold more than its `bytes` allow
   */
  apply(peer: AwarenessPeer, update: Uint8Array): void {
    const entries = readEntries(update, peer.bytes.maxState)
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
    const sizes = this.#storedSizes(entries)
    let delta = 0
    for (const [client, size] of sizes) {
      const claim = this.#claims.get(client)
      delta += size - (claim?.peer === peer ? claim.bytes : 0)
    }
    if (delta > 0 && peer.bytes.used + delta > peer.bytes.maxTotal) {
      throw new Refusal('quota/exceeded', `presence states of more than ${peer.bytes.maxTotal} bytes`)
    }
    for (const [client, size] of sizes) {
      let claim = this.#claims.get(client)
      if (!claim) {
        claim = { user: peer.user, peer: undefined, bytes: 0 }
        this.#claims.set(client, claim)
      }
      // The same user's newer connection takes the id over: the old one leaving no longer clears it.
      if (claim.peer) claim.peer.bytes.used -= claim.bytes
      claim.peer = peer
      claim.bytes = size
      peer.bytes.used += size
    }
    const stampedUpdate = stamped(entries, peer)
    applyAwarenessUpdate(this.awareness, stampedUpdate, peer)
    this.relay?.(peer.user, stampedUpdate)
  }

  /**
   * The bytes each id of `entries` will hold once applied: y-protocols skips an entry whose clock
   * is not newer (so an old-clocked small state must not uncharge a big stored one).
   */
  #storedSizes(entries: readonly Entry[]): Map<number, number> {
    const clocks = new Map<number, number>()
    const sizes = new Map<number, number>()
    for (const { client, clock, state, size } of entries) {
      const current = clocks.get(client) ?? this.awareness.meta.get(client)?.clock ?? 0
      if (!sizes.has(client)) sizes.set(client, this.#claims.get(client)?.bytes ?? 0)
      if (clock > current || (clock === current && state === null)) {
        clocks.set(client, clock)
        sizes.set(client, size)
      }
    }
    return sizes
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
