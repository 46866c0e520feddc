import { type AwarenessEntry, decodeAwareness, encodeAwareness, isNewer } from './awareness.js'
import type { TransportSession } from './transport.js'

/** A link taking part in presence: its id and the session it authenticated with. */
export interface PresenceLink {
  readonly id: number
  readonly session: TransportSession | undefined
}

interface Held {
  clock: number
  state: Readonly<Record<string, unknown>> | null
  /** The user who introduced the id: nobody else may publish or clear it. */
  readonly user: string
  /** The link publishing it while connected. */
  link: number | undefined
}

/**
 * The loopback hub's presence, kept as the Tidings server keeps it: per conversation, every awareness
 * client id's latest state with `user` and `device` stamped from the publishing link's session, an
 * id owned by the user who introduced it, and a link's states cleared when it leaves.
 */
export class HubPresence {
  readonly #rooms = new Map<string, Map<number, Held>>()

  /**
   * Stamps and stores a link's update; returns what to relay to the conversation's other links, or
   * nothing when the update is unreadable, names another user's id, or changes nothing.
   */
  apply(conversation: string, update: Uint8Array, from: PresenceLink): Uint8Array | undefined {
    const session = from.session
    if (!session) return undefined
    let entries: AwarenessEntry[]
    try {
      entries = decodeAwareness(update)
    } catch {
      return undefined
    }
    const room = this.#room(conversation)
    // Refused whole, as the server refuses it, when one entry is another user's.
    if (entries.some((e) => (room.get(e.client)?.user ?? session.user) !== session.user)) return undefined
    const changed: AwarenessEntry[] = []
    for (const { client, clock, state } of entries) {
      const held = room.get(client)
      if (!isNewer({ client, clock, state }, held?.clock, held?.state != null)) continue
      const stamped = state && { ...state, user: session.user, device: session.device }
      room.set(client, { clock, state: stamped, user: session.user, link: from.id })
      changed.push({ client, clock, state: stamped })
    }
    return changed.length > 0 ? encodeAwareness(changed) : undefined
  }

  /** Everyone's presence in a conversation, for a link that joins it. */
  snapshot(conversation: string): Uint8Array | undefined {
    const entries: AwarenessEntry[] = []
    for (const [client, { clock, state }] of this.#room(conversation))
      if (state) entries.push({ client, clock, state })
    return entries.length > 0 ? encodeAwareness(entries) : undefined
  }

  /** Clears what a link published in a conversation; returns the removals to relay. */
  leave(conversation: string, link: number): Uint8Array | undefined {
    const removed: AwarenessEntry[] = []
    for (const [client, held] of this.#room(conversation)) {
      if (held.link !== link) continue
      held.link = undefined
      if (!held.state) continue
      held.state = null
      removed.push({ client, clock: ++held.clock, state: null })
    }
    return removed.length > 0 ? encodeAwareness(removed) : undefined
  }

  #room(conversation: string): Map<number, Held> {
    let room = this.#rooms.get(conversation)
    if (!room) {
      room = new Map()
      this.#rooms.set(conversation, room)
    }
    return room
  }
}
