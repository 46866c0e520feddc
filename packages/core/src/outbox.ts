import type { ConversationId } from './ids.js'
import { parseDocName, type SYNC_ORDER, syncRank } from './lanes.js'
import type { OutboxEntry } from './storage.js'

/**
 * The client's view of its unacknowledged updates, mirrored from storage: which messages are still
 * pending, and in what order entries go out on reconnect (sync order of their docs, then age).
 */
export class Outbox {
  readonly #entries = new Map<string, OutboxEntry>()
  readonly #byMessage = new Map<string, string>()
  readonly #expired = new Set<string>()
  /** Entries the server refused in this session: not offered again until the next connection. */
  readonly #heldBack = new Set<string>()
  /** Messages of a batch being committed: pending from the moment the docs change, never `sent` early. */
  readonly #reserved = new Set<string>()

  constructor(entries: readonly OutboxEntry[], expired: readonly string[]) {
    for (const entry of entries) this.add(entry)
    for (const id of expired) this.#expired.add(id)
  }

  add(entry: OutboxEntry): void {
    this.#entries.set(entry.key, entry)
    for (const id of entry.messages) this.#byMessage.set(id, entry.key)
  }

  /** Removes acknowledged entries; returns those that were known. */
  remove(keys: readonly string[]): OutboxEntry[] {
    const removed: OutboxEntry[] = []
    for (const key of keys) {
      const entry = this.#entries.get(key)
      if (!entry) continue
      this.#entries.delete(key)
      this.#heldBack.delete(key)
      for (const id of entry.messages) if (this.#byMessage.get(id) === key) this.#byMessage.delete(id)
      removed.push(entry)
    }
    return removed
  }

  get(key: string): OutboxEntry | undefined {
    return this.#entries.get(key)
  }

  holdBack(key: string): void {
    if (this.#entries.has(key)) this.#heldBack.add(key)
  }

  releaseHeld(): void {
    this.#heldBack.clear()
  }

  /** Whether some entry of these conversations waits for an ack (refused ones wait no more). */
  awaitsAck(conversations: Iterable<ConversationId>): boolean {
    if (this.#entries.size === this.#heldBack.size) return false
    const prefixes = [...conversations].map((id) => `${id}/`)
    for (const [key, entry] of this.#entries) {
      if (!this.#heldBack.has(key) && prefixes.some((prefix) => entry.doc.startsWith(prefix))) return true
    }
    return false
  }

  isPending(messageId: string): boolean {
    return this.#byMessage.has(messageId) || this.#reserved.has(messageId)
  }

  /** Marks messages pending while their batch is written, before it has outbox entries. */
  reserve(ids: Iterable<string>): void {
    for (const id of ids) this.#reserved.add(id)
  }

  release(ids: Iterable<string>): void {
    for (const id of ids) this.#reserved.delete(id)
  }

  markExpired(ids: Iterable<string>): void {
    for (const id of ids) this.#expired.add(id)
  }

  isExpired(messageId: string): boolean {
    return this.#expired.has(messageId)
  }

  expired(): string[] {
    return [...this.#expired]
  }

  /** Entries of a conversation (all when omitted) in sending order. */
  entries(conversation?: ConversationId): OutboxEntry[] {
    const prefix = conversation === undefined ? '' : `${conversation}/`
    const rank = (entry: OutboxEntry) =>
      syncRank((parseDocName(entry.doc)?.kind ?? 'low') as (typeof SYNC_ORDER)[number])
    return [...this.#entries.values()]
      .filter((entry) => entry.doc.startsWith(prefix))
      .map((entry, age) => ({ entry, age, rank: rank(entry) }))
      .sort((a, b) => a.rank - b.rank || a.age - b.age)
      .map(({ entry }) => entry)
  }

  get size(): number {
    return this.#entries.size
  }
}
