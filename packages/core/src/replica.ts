import type * as Y from 'yjs'
import type { Compactor } from './compaction.js'
import type { ClientContext } from './context.js'
import { DocSet } from './doc-set.js'
import { isTidingsError, TidingsError } from './errors.js'
import type { History } from './history.js'
import type { ConversationId, MessageId } from './ids.js'
import {
  docAt,
  isMessageDoc,
  isPeriodMs,
  metaDocName,
  type PeriodRef,
  parseDocName,
  periodStart,
} from './lanes.js'
import type { RangeSet } from './range-set.js'
import { ReceiptTimer, restoreSets } from './replica-receipts.js'
import { deletedBy, importedEntry, takeRemote } from './replica-receive.js'
import { dropExpired, holdsPeriodOf, isExpired } from './replica-retention.js'
import { supersedingEntry } from './replica-supersede.js'
import { answerFor, type HeldDocs, haveVectors } from './replica-sync.js'
import type { OutboxEntry, UpdateWrite } from './storage.js'
import type { DocVector } from './transport.js'
import { readKeySets } from './updates.js'
import { ConversationView } from './view.js'

/** One local change to one doc, committed with others in a single storage batch. */
export interface LocalChange {
  readonly doc: string
  readonly change: (doc: Y.Doc) => void
  /** Messages the change adds (lane docs), for the outbox, the `held` set and the doc's count. */
  readonly messages?: readonly { id: MessageId; device: string; seq: number; wall: number }[]
  /**
   * Replaces the doc's pending outbox entries with one update of everything the server lacks of the
   * doc, so a change that overwrites or deletes unsent items never reaches the server without them.
   */
  readonly supersede?: boolean
}

/**
 * The replica of one conversation on this device: loaded docs, what storage holds, and the paths
 * by which local changes and remote updates reach both. Every write runs through `ctx.serial`.
 */
export class Replica {
  readonly docs: DocSet
  readonly view: ConversationView
  readonly history: History
  readonly #changed: () => void
  readonly #receipt: ReceiptTimer
  #retainedFrom = 0
  /** Seq of the last message this device wrote in this conversation; advanced after the commit. */
  #seq = 0
  /**
   * While a batch is committed, view changes wait: listeners run after the storage write. While
   * `start` runs they wait too, and with them the retention and upkeep they trigger: those write
   * from this device's `held` and `deleted` sets and judge receipts docs by their records, which
   * are not all restored yet (a retention run then dropped docs without forgetting their messages,
   * and the sets read back after it named them for ever).
   */
  #quiet = 1
  #dirty = false

  constructor(
    private readonly ctx: ClientContext,
    readonly id: ConversationId,
    history: History,
    private readonly compactor: Compactor,
    onChange: () => void,
  ) {
    this.history = history
    const changed = () => {
      onChange()
      if (this.view.retainedFrom > this.#retainedFrom) {
        this.#retainedFrom = this.view.retainedFrom
        void ctx.serial(() => this.applyRetention()).catch((error) => ctx.report(error))
      }
    }
    this.#changed = changed
    this.view = new ConversationView(
      () => {
        if (this.#quiet > 0) this.#dirty = true
        else changed()
      },
      {
        now: () => ctx.clock.physical(),
        // Pins of a message in a period held here are checked against the message itself.
        holdsPeriodOf: (wall) => holdsPeriodOf(this.docs, this.view, wall),
      },
    )
    this.docs = new DocSet(ctx.storage, ctx.newClientId, (name, doc) => this.view.attach(name, doc))
    this.#receipt = new ReceiptTimer(ctx, () => this.publishReceipt())
  }

  /** The length of periods this device writes new docs in: meta's setting, else the client's option. */
  get periodMs(): number {
    const value = this.view.settings.get('periodMs')
    return isPeriodMs(value) ? value : this.ctx.options.periodMs
  }

  /** Loads meta, receipts and the newest periods until the first screen is full. */
  async start(): Promise<void> {
    const meta = metaDocName(this.id)
    this.history.note(meta)
    await this.#load(meta)
    for (const doc of this.history.receiptDocs()) await this.#load(doc)
    // This device's sets survive restarts: `held` exactly from meta, `read` from its last record.
    const seq = await restoreSets(this.view.receipts, this.ctx.device, this.ctx.storage, this.id)
    this.#seq = seq ?? this.ctx.seq
    // Whatever clocks ran ahead filled, the window reaches the present: live messages land in it.
    // Compared in time, not period numbers: docs name their own period length, which may not be ours.
    const present = this.ctx.clock.physical() - this.ctx.clock.maxDrift
    for (const start of this.history.periods()) {
      if (this.view.timeline.size >= this.ctx.options.firstScreen && this.history.endOf(start) <= present)
        break
      await this.loadPeriod(start)
    }
    await this.#closeGaps()
    this.history.complete()
    // Only the registration: settings are an admin's to write (servers refuse them from members),
    // and period docs name their own length, so replicas need no agreed one to read them.
    const devices = this.docs.get(meta)!.getMap('devices')
    // A follower's device never writes, so it joins no conversation: its statuses match the leader's.
    if (this.ctx.upkeep && devices.get(this.ctx.device) !== this.ctx.user) {
      await this.ctx.serial(() =>
        this.commit([{ doc: meta, change: () => devices.set(this.ctx.device, this.ctx.user) }]),
      )
    }
    this.#retainedFrom = this.view.retainedFrom
    await this.ctx.serial(() => this.applyRetention())
    this.#quiet--
    if (this.#dirty) {
      this.#dirty = false
      this.#changed()
    }
  }

  /**
   * The seq of this device's next message here: dense per device and conversation, so receipts
   * stay one range per device however many conversations it writes to. Never one it holds already
   * (an import may bring back its own messages).
   */
  nextSeq(): number {
    // Past this device's committed counter, skipping seqs held already (an import of its own
    // messages); never past the highest one held: a peer writing as this device must not move it.
    return this.view.receipts.held.firstFree(this.ctx.device, this.#seq + 1)
  }

  /** Loads the docs of the period starting at `start` (ms). */
  async loadPeriod(start: number): Promise<void> {
    this.history.markLoaded(start)
    for (const doc of this.history.docsOfPeriod(start)) await this.#load(doc)
  }

  /**
   * Loads `period` with every newer period not loaded yet, so the loaded window never has a gap: a
   * doc written or received there shows with the rest of its period (edits, other lanes) and with
   * everything after it.
   */
  async #widen(start: number): Promise<void> {
    if (this.history.isLoaded(start)) return
    // With periods of different lengths, a longer one may then reach into the window from before it.
    for (let next: number | undefined = start; next !== undefined; next = this.history.overlapping()) {
      for (const newer of this.history.periods())
        if (newer > next && !this.history.isLoaded(newer)) await this.loadPeriod(newer)
      await this.loadPeriod(next)
    }
  }

  /** Loads what reaches into the loaded window from before it (see `History.overlapping`). */
  async #closeGaps(): Promise<void> {
    const overlapping = this.history.overlapping()
    if (overlapping !== undefined) await this.#widen(overlapping)
  }

  /** Loads older periods until `pageSize` more messages are in or none is left. */
  async loadOlder(): Promise<boolean> {
    const older = this.history.older()
    if (older.length === 0) {
      this.history.complete()
      return false
    }
    let added = 0
    for (const start of older) {
      await this.loadPeriod(start)
      added += this.history.messagesIn(start)
      if (added >= this.ctx.options.pageSize) break
    }
    await this.#closeGaps()
    this.history.complete()
    return true
  }

  /** A loaded doc, or undefined. Storage that cannot be read is reported, and the doc skipped. */
  async #load(doc: string): Promise<Y.Doc | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        // Its outbox entries first: a message never shows before its `pending` status can.
        await this.ctx.outbox.read([doc])
        return await this.docs.load(doc)
      } catch (error) {
        this.ctx.report(error)
        // Adapters quarantine damaged rows when they report them: one more read gets the rest.
        if (attempt > 0 || !isTidingsError(error, 'storage/corrupt')) return undefined
      }
    }
  }

  /**
   * Commits local changes as one storage batch with the clock, seq and `held`, then queues them
   * for the transport. Call inside `ctx.serial`.
   * @remarks On a failed write the touched docs are reloaded from storage, so memory never holds
   * changes storage lacks, and the error is rethrown.
   */
  async commit(changes: readonly LocalChange[], seq?: number): Promise<string[]> {
    const ids = changes.flatMap((c) => (c.messages ?? []).map((m) => m.id))
    this.#quiet++
    // Pending from the moment the docs change: a snapshot taken during the write never says `sent`.
    this.ctx.outbox.reserve(this.id, ids)
    try {
      return await this.#commit(changes, seq)
    } finally {
      this.ctx.outbox.release(this.id, ids)
      this.#quiet--
      if (this.#quiet === 0 && this.#dirty) {
        this.#dirty = false
        this.#changed()
      }
    }
  }

  /** `commit` without the notification hold; returns superseded docs left with nothing to send. */
  async #commit(changes: readonly LocalChange[], seq?: number): Promise<string[]> {
    const updates: UpdateWrite[] = []
    const outbox: OutboxEntry[] = []
    const acked: string[] = []
    const vacant: string[] = []
    let keys = 0
    const held = this.view.receipts.held.clone()
    for (const { doc, change, messages = [], supersede } of changes) {
      const ref = parseDocName(doc)!
      if (isMessageDoc(ref)) await this.#widen(periodStart(ref))
      const ydoc = await this.docs.load(doc)
      const update = this.docs.change(doc, () => change(ydoc))
      if (!update && !supersede) continue
      if (update) {
        for (const m of messages) held.add(m.device, m.seq)
        const newest = Math.max(0, ...messages.map((m) => m.wall))
        updates.push({ doc, update, messages: messages.length, newest })
      }
      let entry = {
        update: update ?? new Uint8Array([0, 0]),
        messages: messages.map((m) => m.id) as string[],
      }
      if (supersede) {
        const replaced = this.ctx.outbox.entries(this.id).filter((e) => e.doc === doc)
        acked.push(...replaced.map((e) => e.key))
        // An entry for this doc earlier in the batch is part of the superseding one.
        const earlier = outbox.filter((e) => e.doc === doc)
        for (let i = outbox.length - 1; i >= 0; i--) if (outbox[i]!.doc === doc) outbox.splice(i, 1)
        const superseding = supersedingEntry(ydoc, [...replaced, ...earlier], update, entry.messages)
        if (!superseding) {
          vacant.push(doc)
          continue
        }
        entry = superseding
      }
      const key = `${this.ctx.device}:${this.ctx.outboxSeq + ++keys}`
      outbox.push({ key, doc, lane: ref.kind === 'meta' ? 'meta' : ref.kind, ...entry })
    }
    if (updates.length === 0 && acked.length === 0) return vacant
    const meta: Record<string, string> = {
      clock: JSON.stringify(this.ctx.clock.last),
      outboxSeq: String(this.ctx.outboxSeq + keys),
      [`held:${this.id}`]: JSON.stringify(held.toJSON()),
    }
    if (seq !== undefined) meta[`seq:${this.id}`] = String(seq)
    try {
      await this.ctx.storage.write({ updates, outbox, meta, ...(acked.length > 0 ? { acked } : {}) })
    } catch (error) {
      await this.#reload(updates.map((u) => u.doc))
      throw error
    }
    this.ctx.outbox.remove(acked)
    this.ctx.outboxSeq += keys
    if (seq !== undefined) this.#seq = seq
    for (const u of updates) {
      this.history.note(u.doc, u.messages, u.newest)
      this.compactor.stored(u.doc, u.update.length, this.history.messagesOf(u.doc))
    }
    for (const entry of outbox) this.ctx.outbox.add(entry)
    // Snapshots taken while the docs changed predate the outbox entries: their statuses are stale.
    this.view.touch()
    for (const entry of outbox) {
      this.ctx.send({
        conversation: this.id,
        doc: entry.doc,
        lane: entry.lane,
        update: entry.update,
        key: entry.key,
      })
    }
    this.#takeHeld(held)
    // A stamp before retainedFrom (a slow clock): the doc goes as it would on every other replica.
    if (
      updates.some((u) => {
        const ref = parseDocName(u.doc)
        return ref !== undefined && isMessageDoc(ref) && isExpired(ref, this.view)
      })
    )
      await this.applyRetention()
    return vacant
  }

  /** Drops in-memory state of docs whose write failed and reads them back from storage. */
  async #reload(names: string[]): Promise<void> {
    /** Start time of each period to reload, with one of its docs' ref. */
    const periods = new Map<number, PeriodRef>()
    for (const name of names) {
      const ref = parseDocName(name)
      if (ref && isMessageDoc(ref)) periods.set(periodStart(ref), ref)
      else this.docs.unload(name)
    }
    for (const [start, { period, periodMs }] of periods) {
      for (const name of [...this.docs.names()]) {
        const ref = parseDocName(name)
        if (ref && isMessageDoc(ref) && periodStart(ref) === start) this.docs.unload(name)
      }
      this.view.detachPeriod(period, periodMs)
    }
    for (const name of names) if (!isMessageDoc(parseDocName(name)!)) await this.#load(name)
    for (const start of periods.keys()) await this.loadPeriod(start)
  }

  /**
   * Stores a remote update and applies it when its doc belongs in memory. An imported update also
   * goes into the outbox, so the server and every peer get it.
   */
  receive(doc: string, update: Uint8Array, imported = false): Promise<void> {
    return this.ctx.serial(async () => {
      const ref = parseDocName(doc)
      let sets: ReturnType<typeof readKeySets>
      try {
        if (!ref || ref.conversation !== this.id) throw new Error(`doc ${doc} is not part of ${this.id}`)
        sets = readKeySets(update)
      } catch (cause) {
        this.ctx.report(
          new TidingsError('protocol/malformed', `A remote update for ${doc} was refused.`, {
            subject: doc,
            cause,
          }),
        )
        return
      }
      if (isMessageDoc(ref) && isExpired(ref, this.view)) return
      const held = this.view.receipts.held.clone()
      const { ids, messages, newest } = takeRemote(ref, update, sets, this.view, this.ctx.clock, held)
      const deleted =
        ref.kind === 'control' ? await deletedBy(this.#held(), this.view, doc, update, sets) : undefined
      const key = `${this.ctx.device}:${this.ctx.outboxSeq + 1}`
      const entry = imported ? await importedEntry(this.#held(), ref, update, ids, key) : undefined
      const outbox = entry ? [entry] : []
      await this.ctx.storage.write({
        updates: [{ doc, update, messages, newest }],
        outbox,
        meta: {
          [`held:${this.id}`]: JSON.stringify(held.toJSON()),
          clock: JSON.stringify(this.ctx.clock.last),
          ...(deleted ? { [`deleted:${this.id}`]: JSON.stringify(deleted.toJSON()) } : {}),
          ...(entry ? { outboxSeq: String(this.ctx.outboxSeq + 1) } : {}),
        },
      })
      this.ctx.outboxSeq += outbox.length
      this.history.note(doc, messages, newest)
      this.compactor.stored(doc, update.length, this.history.messagesOf(doc))
      this.#takeHeld(held)
      if (ref.kind === 'meta' || ref.kind === 'receipts' || this.history.inWindow(periodStart(ref))) {
        if (isMessageDoc(ref)) await this.#widen(periodStart(ref))
        if (await this.#load(doc)) this.docs.apply(doc, update)
      }
      // Unread counts changed, even where no loaded doc did.
      if (deleted && this.view.receipts.deleted.addAll(deleted)) this.view.touch()
      for (const entry of outbox) {
        this.ctx.outbox.add(entry)
        this.ctx.send({ conversation: this.id, ...entry })
      }
      // Snapshots taken while the doc changed predate the outbox entry: their statuses are stale.
      if (outbox.length > 0) this.view.touch()
    })
  }

  /** State vectors of every doc held, loaded or only stored. */
  have(): Promise<DocVector[]> {
    return haveVectors(this.#held())
  }

  /** What this replica holds of a doc beyond `stateVector`, or undefined when nothing. */
  async answer(doc: string, stateVector: Uint8Array): Promise<Uint8Array | undefined> {
    await this.ctx.outbox.read([doc])
    const pending = this.ctx.outbox.entries(this.id).filter((e) => e.doc === doc)
    return answerFor(this.#held(), doc, stateVector, pending)
  }

  #held(): HeldDocs {
    return {
      names: this.history.names(),
      has: (doc) => this.history.has(doc),
      docs: this.docs,
      storage: this.ctx.storage,
    }
  }

  /**
   * Publishes this device's receipt record now. Call inside `ctx.serial`. `supersede`: the doc's
   * unsent entries are replaced (see `LocalChange`), for a record that overwrites a refused one.
   */
  async publishReceipt(supersede = false): Promise<void> {
    this.#receipt.cancel()
    const at = this.ctx.clock.tick()
    const { held, read } = this.view.receipts
    // A slow clock's stamp may lie before retainedFrom: the record goes to a period that is kept.
    const wall = Math.max(at.wall, this.view.retainedFrom)
    await this.commit([
      {
        doc: docAt(this.id, 'receipts', wall, this.periodMs),
        change: (doc) =>
          doc.getMap('r').set(this.ctx.device, { held: held.toJSON(), read: read.toJSON(), at }),
        supersede,
      },
    ])
  }

  /** Whether receipts have changes not yet published. */
  get receiptDue(): boolean {
    return this.#receipt.due
  }

  #takeHeld(held: RangeSet) {
    if (this.view.receipts.held.addAll(held)) this.#receipt.soon()
  }

  /** Drops every doc wholly before `retainedFrom`; pending messages in them become `expired`. */
  applyRetention(): Promise<void> {
    return dropExpired(this, this.ctx, this.compactor, () => this.#receipt.soon())
  }

  /** Forgets a doc that holds nothing anyone else has (see `supersede`): storage, memory, history. */
  async dropVacant(doc: string): Promise<void> {
    this.docs.unload(doc)
    this.history.forget(doc)
    this.compactor.forget(doc)
    await this.ctx.storage.drop(doc)
  }

  destroy(): void {
    this.#receipt.cancel()
    this.compactor.destroy()
    this.docs.destroy()
  }
}
