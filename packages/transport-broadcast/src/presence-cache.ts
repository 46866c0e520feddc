import {
  type AwarenessEntry,
  type ConversationId,
  decodeAwareness,
  encodeAwareness,
  isNewer,
} from '@tidings/core'

/** y-protocols drops a state not renewed for 30 s (its providers renew at half of it). */
const OUTDATED_MS = 30_000

interface Held {
  readonly entry: AwarenessEntry
  /** When it arrived: a state not renewed since is left out of a snapshot. */
  readonly at: number
}

/**
 * The presence the leading tab's network link reported, per conversation: a tab that attaches gets
 * everyone's current states at once, instead of nobody until their next renewal.
 */
export class PresenceCache {
  readonly #rooms = new Map<ConversationId, Map<number, Held>>()
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /** Keeps what an update changes; false when it is unreadable, and then it is not relayed either. */
  apply(conversation: ConversationId, update: Uint8Array): boolean {
    let entries: AwarenessEntry[]
    try {
      entries = decodeAwareness(update)
    } catch {
      return false
    }
    let room = this.#rooms.get(conversation)
    if (!room) {
      room = new Map()
      this.#rooms.set(conversation, room)
    }
    const at = this.#now()
    for (const entry of entries) {
      const held = room.get(entry.client)
      // Removals stay too, at their clock, so an older state arriving late does not come back.
      if (isNewer(entry, held?.entry.clock, held?.entry.state != null)) room.set(entry.client, { entry, at })
    }
    return true
  }

  /** The states still live in a conversation, as one awareness update; undefined when nobody is there. */
  snapshot(conversation: ConversationId): Uint8Array | undefined {
    const since = this.#now() - OUTDATED_MS
    const live: AwarenessEntry[] = []
    for (const { entry, at } of this.#rooms.get(conversation)?.values() ?? [])
      if (entry.state !== null && at > since) live.push(entry)
    return live.length > 0 ? encodeAwareness(live) : undefined
  }

  /** The link went offline: what it reported is unknown until it connects again. */
  clear(): void {
    this.#rooms.clear()
  }
}
