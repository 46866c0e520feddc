import type { ConversationId } from './ids.js'
import { parseDocName, SYNC_ORDER, syncRank } from './lanes.js'
import type { OutboxEntry, StorageAdapter } from './storage.js'

/**
 * A message id qualified by its conversation: seqs are per device and conversation, so one id
 * names a message in each conversation the device wrote to.
 */
const qualified = (conversation: string, id: string) => `${conversation}/${id}`
const conversationOf = (entry: OutboxEntry) => entry.doc.slice(0, entry.doc.indexOf('/'))
/** The entry's place in SYNC_ORDER: the lane it goes out in. */
const rankOf = (entry: OutboxEntry) => syncRank(parseDocName(entry.doc)?.kind ?? 'low')

/** Reads stored outbox entries on demand (a storage's `outboxOf` and `outbox`). */
export interface OutboxReader {
  of(doc: string): Promise<OutboxEntry[]>
  all(): Promise<OutboxEntry[]>
}

/** An outbox not read yet: the docs that have entries, and how to read them. */
export interface LazyOutbox {
  readonly docs: readonly string[]
  readonly reader: OutboxReader
}

/**
 * What a client starts with: the whole stored outbox, or, when the storage can read one doc's
 * entries, only the docs that have some.
 */
export const readOutbox = async (storage: StorageAdapter): Promise<OutboxEntry[] | LazyOutbox> => {
  const { outboxDocs, outboxOf } = storage
  if (!outboxDocs || !outboxOf) return storage.outbox()
  const reader = { of: (doc: string) => outboxOf.call(storage, doc), all: () => storage.outbox() }
  return { docs: await outboxDocs.call(storage), reader }
}

/**
 * The client's view of its unacknowledged updates, mirrored from storage: which messages are still
 * pending, and in what order entries go out on reconnect (sync order of their docs, then age).
 * With a storage that reads the entries of one doc, it reads them as their docs are needed.
 */
export class Outbox {
  readonly #entries = new Map<string, OutboxEntry>()
  /**
   * The same entries by lane (index: rank in SYNC_ORDER), each in the order it was added: sending
   * order without sorting the whole outbox, so urgent entries go first at no cost per backlog entry.
   */
  readonly #lanes: Map<string, OutboxEntry>[] = SYNC_ORDER.map(() => new Map())
  /** Qualified message id → outbox key. */
  readonly #byMessage = new Map<string, string>()
  /** Qualified message ids; bare ids stored before seqs were per conversation stay valid. */
  readonly #expired = new Set<string>()
  /** Entries the server refused in this session: not offered again until the next connection. */
  readonly #heldBack = new Set<string>()
  /**
   * Held-back entries refused with `clock/skew`: `whenSynced` waits for them until the clock offset
   * measured after the refusal was applied (and they were re-stamped, superseding them).
   */
  readonly #awaitingClock = new Set<string>()
  /** Messages of a batch being committed: pending from the moment the docs change, never `sent` early. */
  readonly #reserved = new Set<string>()

  /** Docs whose stored entries are not read yet (see `OutboxReader`). */
  readonly #unread = new Set<string>()
  readonly #reading = new Map<string, Promise<void>>()
  #readingAll: Promise<void> | undefined
  readonly #reader: OutboxReader | undefined

  /**
   * @param entries the stored entries, or only the docs that have some and a reader for them: then
   * a doc's entries are read when `read` asks for them, and the rest by `readAll`.
   */
  constructor(entries: readonly OutboxEntry[] | LazyOutbox, expired: readonly string[]) {
    if ('docs' in entries) {
      this.#reader = entries.reader
      for (const doc of entries.docs) this.#unread.add(doc)
    } else for (const entry of entries) this.add(entry)
    for (const id of expired) this.#expired.add(id)
  }

  /**
   * Whether every stored entry of a conversation (all when omitted) is in memory. Until then
   * `entries` lists only those read so far: statuses are exact for messages of docs read (a
   * conversation reads the entries of each doc it loads), `pending()` waits for `readAll`.
   */
  complete(conversation?: ConversationId): boolean {
    if (this.#unread.size === 0) return true
    if (conversation === undefined) return false
    const prefix = `${conversation}/`
    for (const doc of this.#unread) if (doc.startsWith(prefix)) return false
    return true
  }

  /** Reads the stored entries of these docs, once each. */
  async read(docs: Iterable<string>): Promise<void> {
    const waits: Promise<void>[] = []
    for (const doc of docs) {
      if (!this.#unread.has(doc) || !this.#reader) continue
      let reading = this.#reading.get(doc)
      if (!reading) {
        reading = this.#reader.of(doc).then((entries) => {
          // Entries of a doc are read whole: none of them can have been acknowledged (never sent)
          // or replaced (a doc is written only once it is loaded, and loading reads it first).
          if (!this.#unread.delete(doc)) return
          for (const entry of entries) if (!this.#entries.has(entry.key)) this.add(entry)
        })
        reading.finally(() => this.#reading.delete(doc)).catch(() => {})
        this.#reading.set(doc, reading)
      }
      waits.push(reading)
    }
    await Promise.all(waits)
  }

  /** Reads every stored entry not read yet, keeping the order they were written in. */
  readAll(): Promise<void> {
    if (this.#unread.size === 0 || !this.#reader) return Promise.resolve()
    const reader = this.#reader
    this.#readingAll ??= reader
      .all()
      .then((stored) => {
        const kept = new Map(this.#entries)
        this.#entries.clear()
        for (const lane of this.#lanes) lane.clear()
        for (const entry of stored) {
          const known = kept.get(entry.key)
          if (known) {
            this.#place(known)
            kept.delete(entry.key)
          } else if (this.#unread.has(entry.doc)) this.add(entry)
        }
        // Entries added while the read ran come after the stored ones, as they were written.
        for (const entry of kept.values()) this.#place(entry)
        this.#unread.clear()
      })
      .finally(() => {
        this.#readingAll = undefined
      })
    return this.#readingAll
  }

  add(entry: OutboxEntry): void {
    this.#place(entry)
    for (const id of entry.messages) this.#byMessage.set(qualified(conversationOf(entry), id), entry.key)
  }

  /** Removes acknowledged entries; returns those that were known. */
  remove(keys: readonly string[]): OutboxEntry[] {
    const removed: OutboxEntry[] = []
    for (const key of keys) {
      const entry = this.#entries.get(key)
      if (!entry) continue
      this.#entries.delete(key)
      this.#lanes[rankOf(entry)]!.delete(key)
      this.#heldBack.delete(key)
      this.#awaitingClock.delete(key)
      for (const id of entry.messages) {
        const message = qualified(conversationOf(entry), id)
        if (this.#byMessage.get(message) === key) this.#byMessage.delete(message)
      }
      removed.push(entry)
    }
    return removed
  }

  get(key: string): OutboxEntry | undefined {
    return this.#entries.get(key)
  }

  /**
   * Not offered again in this session. `awaitClock`: refused with `clock/skew`, so it may be
   * re-stamped once the transport reports the clock offset: it still counts as awaited until then.
   */
  holdBack(key: string, awaitClock = false): void {
    if (!this.#entries.has(key)) return
    this.#heldBack.add(key)
    if (awaitClock) this.#awaitingClock.add(key)
  }

  /** A fresh clock offset was applied and re-stamping done: what is still held back waits no more. */
  settleClock(): void {
    this.#awaitingClock.clear()
  }

  releaseHeld(): void {
    this.#heldBack.clear()
    this.#awaitingClock.clear()
  }

  /**
   * Whether some entry of these conversations waits for an ack. Entries refused in this session
   * wait no more (they stay pending), except those refused with `clock/skew` before the re-stamp.
   */
  awaitsAck(conversations: Iterable<ConversationId>): boolean {
    const prefixes = [...conversations].map((id) => `${id}/`)
    // An entry not read yet was never offered: it waits.
    for (const doc of this.#unread) if (prefixes.some((prefix) => doc.startsWith(prefix))) return true
    if (this.#entries.size === this.#heldBack.size && this.#awaitingClock.size === 0) return false
    for (const [key, entry] of this.#entries) {
      const waits = !this.#heldBack.has(key) || this.#awaitingClock.has(key)
      if (waits && prefixes.some((prefix) => entry.doc.startsWith(prefix))) return true
    }
    return false
  }

  /** Pending: in the outbox, or reserved while its batch is being written. */
  isPending(conversation: ConversationId, messageId: string): boolean {
    const key = qualified(conversation, messageId)
    return this.#byMessage.has(key) || this.#reserved.has(key)
  }

  /** Marks messages pending while their batch is written, before it has outbox entries. */
  reserve(conversation: ConversationId, ids: Iterable<string>): void {
    for (const id of ids) this.#reserved.add(qualified(conversation, id))
  }

  release(conversation: ConversationId, ids: Iterable<string>): void {
    for (const id of ids) this.#reserved.delete(qualified(conversation, id))
  }

  /** Marks the messages of these entries expired (refused or dropped before they were sent). */
  markExpired(entries: readonly OutboxEntry[]): void {
    for (const entry of entries)
      for (const id of entry.messages) this.#expired.add(qualified(conversationOf(entry), id))
  }

  isExpired(conversation: ConversationId, messageId: string): boolean {
    // A bare id was stored before seqs were per conversation; later seqs all start above it.
    return this.#expired.has(qualified(conversation, messageId)) || this.#expired.has(messageId)
  }

  expired(): string[] {
    return [...this.#expired]
  }

  /** Entries of a conversation (all when omitted) in sending order: by lane, then age. */
  entries(conversation?: ConversationId): OutboxEntry[] {
    return SYNC_ORDER.flatMap((_, rank) => this.lane(rank, conversation))
  }

  /** Entries of one lane (its rank in SYNC_ORDER) of a conversation (all when omitted), by age. */
  lane(rank: number, conversation?: ConversationId): OutboxEntry[] {
    const prefix = conversation === undefined ? '' : `${conversation}/`
    const entries: OutboxEntry[] = []
    for (const entry of this.#lanes[rank]?.values() ?? [])
      if (entry.doc.startsWith(prefix)) entries.push(entry)
    return entries
  }

  get size(): number {
    return this.#entries.size
  }

  /** Adds or replaces an entry, keeping the place of one already known. */
  #place(entry: OutboxEntry): void {
    this.#entries.set(entry.key, entry)
    this.#lanes[rankOf(entry)]!.set(entry.key, entry)
  }
}
