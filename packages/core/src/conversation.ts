import { Compactor } from './compaction.js'
import type { ClientContext } from './context.js'
import { TidingsError } from './errors.js'
import { exportConversation, type ImportSource, importConversation } from './export.js'
import { type ForwardedWrite, forwardSend } from './forward.js'
import { History } from './history.js'
import { type ConversationId, type MessageId, messageId, parseMessageId } from './ids.js'
import { assertPriority, metaDocName, type Priority } from './lanes.js'
import { type Json, type Message, type MessageStatus, validateBody } from './message.js'
import { commitControl, commitSend } from './message-writes.js'
import { entryOf, pendingMessages } from './pending.js'
import { snapshotOf, unpinChange, upkeepChanges } from './pinning.js'
import type { Presence, PresencePeer, PresenceState } from './presence.js'
import { Replica } from './replica.js'
import { sameItems } from './snapshot.js'
import type { Entry } from './view.js'

/** Options of `send()`: its lane and the message it replies to. */
export interface SendOptions {
  /** The lane the message travels in (default `normal`); urgent overtakes every queued lower lane. */
  priority?: Priority
  /** The message this one answers; it must be loaded. Replies always sort after their parent. */
  replyTo?: string
}

/**
 * A pinned message: a snapshot kept in meta, updated by later edits, outliving its period. Only
 * pins that match the message (or, for a message not loaded here, its author's device) are listed.
 */
export interface Pin {
  readonly id: MessageId
  readonly author: string
  readonly body: Json
  readonly sentAt: number
  readonly editedAt?: number
  readonly pinnedBy: string
}

/**
 * One conversation on this device. Reads are synchronous snapshots; writes resolve once durable in
 * local storage and never fail for being offline.
 */
export class Conversation {
  readonly id: ConversationId
  readonly #ctx: ClientContext
  readonly #replica: Replica
  readonly #presence: Presence
  readonly #listeners = new Set<() => void>()
  readonly #cache = new Map<string, { entry: Entry; status: MessageStatus; message: Message }>()
  #snapshot: { version: number; messages: readonly Message[] } | undefined
  /** Raised when acks or expiries change statuses, which the view does not see. */
  #statusVersion = 0
  #closed = false
  #upkeepDue = false
  /** The background read of outbox entries `pending()` started, when the storage reads them lazily. */
  #outboxRead: Promise<void> | undefined

  private constructor(
    ctx: ClientContext,
    id: ConversationId,
    history: History,
    compactor: Compactor,
    presence: Presence,
  ) {
    this.#ctx = ctx
    this.id = id
    this.#presence = presence
    presence.subscribe(() => this.#notify())
    this.#replica = new Replica(ctx, id, history, compactor, () => {
      this.#notify()
      this.#upkeep()
    })
  }

  /** @internal Opened by `client.open`. */
  static async open(ctx: ClientContext, id: ConversationId, presence: Presence): Promise<Conversation> {
    const infos = await ctx.storage.listDocs(id)
    const conversation = new Conversation(ctx, id, new History(infos), new Compactor(ctx, infos), presence)
    await conversation.#replica.start()
    return conversation
  }

  /** @internal The replica, for the client's sync glue. */
  get replica(): Replica {
    return this.#replica
  }

  /** Writes a message; resolves once it is durable here, whatever the link. */
  async send(body: unknown, options: SendOptions = {}): Promise<Message> {
    this.#open()
    const priority = assertPriority(options.priority ?? 'normal')
    const value = validateBody(body, this.#ctx.options.maxBodyBytes)
    const parent = options.replyTo === undefined ? undefined : this.#entry(options.replyTo)
    const ctx = this.#ctx
    if (ctx.forward) {
      const write = { op: 'send', body: value, priority, ...(parent ? { replyTo: parent.id } : {}) } as const
      return forwardSend(ctx.forward, this, write, ctx.options.timers)
    }
    return ctx.serial(async () => {
      const { id, record } = await commitSend(ctx, this.#replica, value, priority, parent)
      // Gone at once when its stamp lies before retainedFrom: then it is reported `expired`.
      return this.#message(this.#replica.view.timeline.get(id) ?? entryOf(id, record))
    })
  }

  /** Replaces the body of one of your messages. */
  async edit(id: string, body: unknown): Promise<void> {
    const entry = this.#ownEntry(id)
    const value = validateBody(body, this.#ctx.options.maxBodyBytes)
    if (this.#ctx.forward) return this.#forward({ op: 'edit', id: entry.id, body: value })
    await this.#ctx.serial(() =>
      commitControl(this.#ctx, this.#replica, entry, (stamp) => ({ stamp, body: value })),
    )
  }

  /** Deletes one of your messages: a tombstone keeps its place, the body is freed. */
  async delete(id: string): Promise<void> {
    const entry = this.#ownEntry(id)
    if (this.#ctx.forward) return this.#forward({ op: 'delete', id: entry.id })
    await this.#ctx.serial(() =>
      commitControl(this.#ctx, this.#replica, entry, (stamp) => ({
        stamp,
        deleted: true,
        header: entry.header,
      })),
    )
  }

  /**
   * Pins a message: this device's snapshot of it goes to meta under `<id>/<device>` and survives
   * retention. A server accepts it only while it matches the stored message.
   */
  async pin(id: string): Promise<void> {
    this.#open()
    const entry = this.#entry(id)
    if (entry.revision?.deleted)
      throw new TidingsError('input/invalid', `Message ${id} is deleted.`, { subject: id })
    if (this.#ctx.forward) return this.#forward({ op: 'pin', id: entry.id })
    const key = `${entry.id}/${this.#ctx.device}`
    await this.#ctx.serial(() =>
      this.#replica.commit([
        { doc: metaDocName(this.id), change: (d) => d.getMap('pins').set(key, snapshotOf(entry)) },
      ]),
    )
  }

  /** Unpins a message for everyone: every member's pin of it goes. */
  async unpin(id: string): Promise<void> {
    this.#open()
    if (!this.#replica.view.pins.has(id)) return
    if (this.#ctx.forward) return this.#forward({ op: 'unpin', id })
    await this.#ctx.serial(() => this.#replica.commit([unpinChange(this.#replica, id)]))
  }

  /** Pinned messages, oldest first, each with its author's latest edit. */
  pins(): Pin[] {
    return this.#replica.view
      .pinned()
      .map(({ id, header, body, editedAt, pinnedBy }) => ({
        id,
        author: header.author,
        body,
        sentAt: header.stamp.wall,
        ...(editedAt !== undefined ? { editedAt } : {}),
        pinnedBy,
      }))
      .sort((a, b) => a.sentAt - b.sentAt || (a.id < b.id ? -1 : 1))
  }

  /**
   * After records changed, frees what deletes left behind and keeps pins current (see
   * `upkeepChanges`). Runs in the serial queue, once for all the changes gathered meanwhile.
   */
  #upkeep() {
    if (this.#upkeepDue || this.#closed || !this.#ctx.upkeep) return
    this.#upkeepDue = true
    this.#ctx
      .serial(async () => {
        this.#upkeepDue = false
        if (this.#closed) return
        const changes = upkeepChanges(this.#ctx, this.#replica, this.#replica.view.takeTouched())
        if (changes.length > 0) await this.#replica.commit(changes)
      })
      .catch((error) => this.#ctx.report(error))
  }

  /** Marks every loaded message ordered at or before `id` as read by this device. */
  async markRead(id: string): Promise<void> {
    this.#open()
    const entry = this.#entry(id)
    if (this.#ctx.forward) return this.#forward({ op: 'markRead', id: entry.id })
    const { receipts } = this.#replica.view
    let changed = false
    for (const e of this.#replica.view.timeline.upTo(entry))
      changed = receipts.read.add(e.key.device, e.key.seq) || changed
    if (changed) await this.#ctx.serial(() => this.#replica.publishReceipt())
  }

  /** Users other than the author who read the message on some device. */
  readBy(id: string): string[] {
    const entry = this.#entry(id)
    return this.#replica.view.receipts.readBy(
      entry.header.author,
      entry.key.device as never,
      entry.key.seq,
      this.#replica.view.members,
    )
  }

  /** A loaded message's delivery status: `pending`, `sent`, `delivered`, `read` or `expired`. */
  status(id: string): MessageStatus {
    const parsed = parseMessageId(id)
    if (!parsed)
      throw new TidingsError('message/unknown', `${JSON.stringify(id)} is not a message id.`, { subject: id })
    if (this.#ctx.outbox.isExpired(this.id, id)) return 'expired'
    if (this.#ctx.outbox.isPending(this.id, id)) return 'pending'
    if (this.#ctx.forward?.pendingIds(this.id).includes(id)) return 'pending'
    const entry = this.#entry(id)
    const { receipts, members } = this.#replica.view
    return receipts.status(entry.header.author, parsed.device, parsed.seq, members)
  }

  /**
   * The outbox of this conversation: unconfirmed messages, urgent first, then in order. Messages
   * of periods not loaded are read from the outbox entry's own bytes.
   * @remarks A storage with `outboxOf` lets `open()` read only the entries of the docs it loads.
   * The first call then starts reading the rest and lists what is read so far (every message
   * loaded); listeners are called once the list is complete.
   */
  pending(): Message[] {
    if (!this.#ctx.outbox.complete(this.id)) this.#readOutbox()
    return pendingMessages(this.#ctx, this.id, this.#replica.view.timeline, (entry) => this.#message(entry))
  }

  #readOutbox(): void {
    this.#outboxRead ??= this.#ctx
      .serial(() => this.#ctx.outbox.readAll())
      .then(
        () => this.statusesChanged(),
        (error) => {
          this.#outboxRead = undefined
          this.#ctx.report(error)
        },
      )
  }

  /** Ids of messages this device holds that this user has not read, late arrivals included. */
  unreadIds(): MessageId[] {
    const { receipts, members, timeline } = this.#replica.view
    const ids: MessageId[] = []
    for (const [device, seq] of receipts.unread(this.#ctx.user, members).entries()) {
      const id = messageId(device as never, seq)
      if (!timeline.get(id)?.revision?.deleted) ids.push(id)
    }
    const position = (id: string) => {
      const entry = timeline.get(id)
      return entry ? timeline.indexOf(entry) : Number.MAX_SAFE_INTEGER
    }
    return ids.sort((a, b) => position(a) - position(b) || (a < b ? -1 : 1))
  }

  /** Number of unread messages, from the ranges alone. */
  unreadCount(): number {
    return this.unreadIds().length
  }

  /** The loaded messages in display order; the same array until something changes. */
  messages(): readonly Message[] {
    const version = this.#replica.view.version * 1_000_003 + this.#statusVersion
    if (this.#snapshot?.version === version) return this.#snapshot.messages
    const next = this.#replica.view.timeline.values().map((entry) => this.#message(entry))
    // Receipts and acks that change no message still raise the version: keep the same array then.
    const previous = this.#snapshot?.messages
    const messages = previous && sameItems(previous, next) ? previous : Object.freeze(next)
    this.#snapshot = { version, messages }
    return messages
  }

  /** Loads the previous period(s); false when nothing older exists. */
  loadOlder(): Promise<boolean> {
    this.#open()
    return this.#replica.loadOlder()
  }

  /** Who is online here, one entry per device (this one included), by user then device; same array until it changes. */
  presence(): readonly PresencePeer[] {
    return this.#presence.peers()
  }

  /** Merges fields into this device's presence; `typing: true` lapses after 5 s unless set again. */
  setPresence(state: PresenceState): void {
    this.#open()
    this.#presence.set(state)
  }

  /** Calls `listener` after every change (presence included); returns the function that stops it. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** The earliest time retention keeps; docs wholly before it are dropped. */
  get retainedFrom(): number {
    return this.#replica.view.retainedFrom
  }

  /** Moves `retainedFrom` forward (never back). Servers normally do this; offline, the highest wins. */
  async setRetainedFrom(wall: number): Promise<void> {
    this.#open()
    if (!Number.isSafeInteger(wall) || wall < 0)
      throw new TidingsError('input/invalid', `retainedFrom must be a time in ms, not ${wall}.`)
    if (wall <= this.retainedFrom) return
    if (this.#ctx.forward) return this.#forward({ op: 'retain', wall })
    await this.#ctx.serial(async () => {
      await this.#replica.commit([
        { doc: metaDocName(this.id), change: (d) => d.getMap('retention').set(this.#ctx.device, wall) },
      ])
      await this.#replica.applyRetention()
    })
  }

  /** Writes the whole conversation, loaded or not, as NDJSON lines. */
  export(): AsyncIterable<string> {
    return exportConversation(this.#ctx, this.#replica)
  }

  /** Reads an export back; every record is checked before anything is written. */
  async import(records: ImportSource): Promise<number> {
    this.#open()
    if (!this.#ctx.forward) return importConversation(this.#replica, records)
    // Chunks of a stream, as `importConversation` reads them: joined as they come.
    let text = ''
    for await (const chunk of typeof records === 'string' ? [records] : records) text += chunk
    return Number(await this.#ctx.forward.write(this.id, { op: 'import', text }))
  }

  /** @internal Statuses changed outside the docs (acks, expiry). */
  statusesChanged(): void {
    this.#statusVersion++
    this.#notify()
  }

  /** @internal */
  async close(): Promise<void> {
    if (this.#closed) return
    try {
      if (this.#replica.receiptDue) await this.#ctx.serial(() => this.#replica.publishReceipt())
    } finally {
      this.#closed = true
      this.#presence.close()
      this.#replica.destroy()
      this.#listeners.clear()
    }
  }

  /** Hands a write to the client this one follows; resolves once that client committed it. */
  async #forward(write: ForwardedWrite): Promise<void> {
    await this.#ctx.forward!.write(this.id, write)
  }

  /** Runs every listener; one that throws goes to `client.on('error')`, never into the write. */
  #notify() {
    for (const listener of [...this.#listeners]) {
      try {
        listener()
      } catch (error) {
        this.#ctx.report(
          new TidingsError(
            'client/unexpected',
            `A subscriber of ${this.id} threw: ${(error as Error)?.message}`,
            {
              cause: error,
            },
          ),
        )
      }
    }
  }

  #open() {
    if (this.#closed) throw new TidingsError('conversation/closed', `Conversation ${this.id} was closed.`)
  }

  #entry(id: string): Entry {
    const entry = this.#replica.view.timeline.get(id)
    if (!entry)
      throw new TidingsError(
        'message/unknown',
        `Message ${JSON.stringify(id)} is not loaded in ${this.id}.`,
        { subject: id },
      )
    return entry
  }

  #ownEntry(id: string): Entry {
    this.#open()
    const entry = this.#entry(id)
    if (entry.header.author !== this.#ctx.user) {
      throw new TidingsError(
        'permission/denied',
        `Message ${id} was written by ${entry.header.author}; only its author may change it.`,
        { subject: id },
      )
    }
    if (entry.revision?.deleted)
      throw new TidingsError('input/invalid', `Message ${id} is deleted.`, { subject: id })
    return entry
  }

  #message(entry: Entry): Message {
    const status = this.status(entry.id)
    const cached = this.#cache.get(entry.id)
    if (cached && cached.entry === entry && cached.status === status) return cached.message
    const { header, revision } = entry
    const message: Message = Object.freeze({
      id: entry.id,
      author: header.author,
      device: header.device,
      body: entry.body,
      priority: header.priority,
      sentAt: header.stamp.wall,
      stamp: header.stamp,
      ...(header.replyTo ? { replyTo: header.replyTo } : {}),
      ...(revision?.editedAt !== undefined && !revision.deleted ? { editedAt: revision.editedAt } : {}),
      deleted: revision?.deleted === true,
      status,
    })
    this.#cache.set(entry.id, { entry, status, message })
    return message
  }
}
