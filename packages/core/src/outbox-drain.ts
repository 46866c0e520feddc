import type { Timers } from './context.js'
import type { ConversationId } from './ids.js'
import { type DocKind, SYNC_ORDER, syncRank } from './lanes.js'
import type { Outbox } from './outbox.js'
import type { OutboxEntry } from './storage.js'
import type { OutgoingUpdate } from './transport.js'

/**
 * Outbox entries handed to the transport per turn of the event loop at most. Handing a backlog of
 * 10k over in one turn blocked the loop for tens of ms before the first (urgent) frame could leave.
 */
export const DRAIN_CHUNK = 256

/** What a drain needs from the client. */
export interface DrainHost {
  readonly outbox: Outbox
  readonly timers: Timers
  /** True while the link takes updates; a drain stops when it does not. */
  linked(): boolean
  /** Hands one update to the transport (or to whatever holds it back). */
  send(update: OutgoingUpdate): void
}

/**
 * One conversation's outbox being handed over: a lane per turn of the event loop, highest first,
 * `DRAIN_CHUNK` entries a turn. A lane's entries are listed when its turn comes, not before, so the
 * first turn costs what the urgent lane holds, whatever waits in the lower ones.
 */
class Drain {
  #rank = -1
  /** The current lane's entries, from `#at` on, and entries of it written since it was listed. */
  #lane: OutboxEntry[] = []
  #at = 0
  #timer: unknown
  #stopped = false

  constructor(
    private readonly host: DrainHost,
    private readonly conversation: ConversationId,
    private readonly done: () => void,
  ) {}

  /**
   * Whether a new outbox entry is left to this drain, so it follows the older entries of its lane:
   * those of a lane not listed yet will be, those of the current lane go at its end. False when its
   * lane was handed over already: it can go now.
   */
  offer(update: OutgoingUpdate): boolean {
    const rank = syncRank(update.lane as DocKind)
    if (rank === -1 || rank < this.#rank) return false
    const entry = this.host.outbox.get(update.key!)
    if (!entry) return false
    if (rank === this.#rank) this.#lane.push(entry)
    return true
  }

  /** Hands the next entries over, then yields to the event loop before the next ones. */
  step(): void {
    this.#timer = undefined
    if (this.#stopped) return
    if (!this.host.linked()) {
      this.stop()
      return
    }
    let handed = 0
    for (;;) {
      if (this.#at === this.#lane.length) {
        // A lane per turn: what is handed this turn leaves before a lower lane is even listed.
        if (handed > 0) break
        if (++this.#rank === SYNC_ORDER.length) {
          this.stop()
          return
        }
        this.#lane = this.host.outbox.lane(this.#rank, this.conversation)
        this.#at = 0
        continue
      }
      if (handed === DRAIN_CHUNK) break
      const entry = this.#lane[this.#at++]!
      // Acknowledged, superseded or expired since it was listed: nothing left to send.
      if (this.host.outbox.get(entry.key) !== entry) continue
      const { doc, lane, update, key } = entry
      this.host.send({ conversation: this.conversation, doc, lane, update, key })
      handed++
    }
    this.#timer = this.host.timers.setTimeout(() => this.step(), 0)
  }

  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    if (this.#timer !== undefined) this.host.timers.clearTimeout(this.#timer)
    this.done()
  }
}

/**
 * Hands outbox entries to the transport when a link comes up, highest lanes first and a lane per
 * turn of the event loop, so an urgent entry leaves before a backlog of normal ones is even queued.
 * Entries written meanwhile wait behind the older entries of their lane, never overtake them.
 */
export class OutboxDrains {
  readonly #drains = new Map<ConversationId, Drain>()

  constructor(private readonly host: DrainHost) {}

  /** Hands the conversation's whole outbox over again, starting now (a drain under way starts over). */
  start(conversation: ConversationId): void {
    this.#drains.get(conversation)?.stop()
    const drain = new Drain(this.host, conversation, () => {
      if (this.#drains.get(conversation) === drain) this.#drains.delete(conversation)
    })
    this.#drains.set(conversation, drain)
    drain.step()
  }

  /** Hands a new outbox entry over now, or leaves it to the drain of its conversation (see `offer`). */
  send(update: OutgoingUpdate): void {
    if (update.key !== undefined && this.#drains.get(update.conversation)?.offer(update)) return
    this.host.send(update)
  }

  /** Stops every drain (the link went, or the client closes). */
  stop(): void {
    for (const drain of [...this.#drains.values()]) drain.stop()
  }
}
