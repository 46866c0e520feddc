import { type PeriodRef, parseDocName, periodStart } from '@tidings/core'
import type { ConversationState } from './conversations.js'
import { Refusal } from './decode.js'
import { TokenBucket } from './limits.js'

/**
 * Bytes queued for sending, summed over every connection: one budget the server shares, so twenty
 * connections that never read cannot each fill their own cap. `Outgoing` charges and refunds it.
 */
export class ByteBudget {
  #used = 0

  constructor(readonly max: number) {}

  get used(): number {
    return this.#used
  }

  /** True while the total is past the cap. */
  get over(): boolean {
    return this.#used > this.max
  }

  charge(bytes: number): void {
    this.#used += bytes
  }

  refund(bytes: number): void {
    this.#used -= bytes
  }
}

/**
 * What refused frames may cost a connection before it is closed (4429): a refusal still costs the
 * server a decode and a check, so a flood of them must end. Holds `limits.refusalBudget`, refilled
 * at that much a minute, so an honest client whose stale outbox meets a few refusals
 * (`retention/expired`, `clock/skew`) is never closed for them. Reusable by any protocol path.
 */
export class RefusalBudget {
  readonly #bucket: TokenBucket

  constructor(budget: number, now?: () => number) {
    this.#bucket = new TokenBucket(budget / 60, budget, now)
  }

  /** Spends `cost` (see `refusalCost`); false once the budget is spent: close the connection. */
  spend(cost: number): boolean {
    for (let i = 0; i < cost; i++) if (!this.#bucket.take()) return false
    return true
  }
}

/**
 * What a refused frame costs: 1, plus 1 per 4 KiB and 1 per 100 structs or delete ranges the
 * server read before refusing it. A refused message of an honest client costs 1; an update of
 * 10,000 structs refused at its last spends a default budget at once.
 */
export const refusalCost = (bytes: number, structs = 0): number =>
  1 + Math.floor(bytes / 4096) + Math.floor(structs / 100)

/** Open connections per user, so one token cannot hold the server's sockets and queues. */
export class UserConnections {
  readonly #count = new Map<string, number>()

  constructor(readonly max: number) {}

  /** Counts a connection of `user`; false (and nothing counted) when the user has `max` already. */
  add(user: string): boolean {
    const count = this.#count.get(user) ?? 0
    if (count >= this.max) return false
    this.#count.set(user, count + 1)
    return true
  }

  /** Forgets one connection of `user` (exactly once per successful `add`). */
  remove(user: string): void {
    const count = (this.#count.get(user) ?? 1) - 1
    if (count <= 0) this.#count.delete(user)
    else this.#count.set(user, count)
  }
}

/**
 * The docs members create in one conversation: each member may have `maxAhead` period docs whose
 * period starts after now (a tiny period length puts thousands of periods inside the drift
 * allowance), and create `perMinute` new docs a minute (late messages may open past periods, but
 * every doc lengthens the manifest each subscriber receives). Held in memory while the
 * conversation is open.
 */
export class DocQuotas {
  /**
   * Distinct period lengths a conversation's docs may use. Devices that chose different lengths
   * offline need a few; a member minting a length per doc (`~1000`, `~1001`, …) would otherwise
   * open a fresh set of present periods each time.
   */
  static readonly MAX_PERIOD_LENGTHS = 4
  /**
   * New clientIDs one update may bind, and one member may bind a minute (the bucket's size and
   * refill). An honest session draws one clientID per doc it writes and uploads one per update;
   * every binding is a stored row and a state-vector entry that every later sync carries.
   */
  static readonly MAX_BINDINGS_PER_UPDATE = 16
  static readonly BINDINGS_PER_MINUTE = 600
  readonly #bindings = new Map<string, TokenBucket>()

  readonly #ahead = new Map<string, Map<string, number>>()
  readonly #rates = new Map<string, TokenBucket>()

  constructor(
    readonly maxAhead: number,
    readonly perMinute: number,
  ) {}

  /** Counts `count` new clientID bindings for `user`; a `quota/exceeded` Refusal when it may not. */
  admitBindings(user: string, count: number): Refusal | undefined {
    if (count > DocQuotas.MAX_BINDINGS_PER_UPDATE) {
      return new Refusal(
        'quota/exceeded',
        `an update binds ${count} new clientIDs; at most ${DocQuotas.MAX_BINDINGS_PER_UPDATE}`,
      )
    }
    let bucket = this.#bindings.get(user)
    if (!bucket) {
      bucket = new TokenBucket(DocQuotas.BINDINGS_PER_MINUTE / 60, DocQuotas.BINDINGS_PER_MINUTE)
      this.#bindings.set(user, bucket)
    }
    if (bucket.available() < count) {
      return new Refusal(
        'quota/exceeded',
        `more than ${DocQuotas.BINDINGS_PER_MINUTE} new clientIDs a minute`,
      )
    }
    for (let i = 0; i < count; i++) bucket.take()
    return undefined
  }

  /**
   * Counts `doc` (whose period starts at `start`, in ms) as created by `user` at `now`; a
   * `quota/exceeded` Refusal when it may not.
   */
  admit(user: string, doc: string, start: number, now: number): Refusal | undefined {
    let ahead = this.#ahead.get(user)
    if (start > now) {
      ahead ??= new Map()
      // Docs whose period has begun are no longer ahead of time.
      for (const [name, s] of ahead) if (s <= now) ahead.delete(name)
      if (ahead.size >= this.maxAhead) {
        return new Refusal('quota/exceeded', `more than ${this.maxAhead} docs ahead of the current period`)
      }
    }
    let rate = this.#rates.get(user)
    if (!rate) {
      rate = new TokenBucket(this.perMinute / 60, this.perMinute)
      this.#rates.set(user, rate)
    }
    if (!rate.take()) return new Refusal('quota/exceeded', `more than ${this.perMinute} new docs a minute`)
    if (start > now && ahead) {
      ahead.set(doc, start)
      this.#ahead.set(user, ahead)
    }
    return undefined
  }
}

/**
 * New docs each user may create a minute over all conversations (`userNewDocsPerMinute`), as a
 * burst refilled over the minute: `DocQuotas` counts per conversation, and a member of hundreds
 * of conversations would otherwise multiply it by their number.
 */
export class UserDocBudget {
  readonly #buckets = new Map<string, TokenBucket>()

  constructor(
    readonly perMinute: number,
    private readonly now?: () => number,
  ) {}

  /** Whether `user` may create one more doc now (nothing is taken). */
  allows(user: string): boolean {
    const bucket = this.#buckets.get(user)
    return !bucket || bucket.available() >= 1
  }

  /** Counts one new doc of `user` (ask `allows` first). */
  take(user: string): void {
    let bucket = this.#buckets.get(user)
    if (!bucket) {
      // A full bucket is what a user without one has: forget those, so the map holds active users.
      for (const [other, b] of this.#buckets) if (b.available() >= this.perMinute) this.#buckets.delete(other)
      bucket = new TokenBucket(this.perMinute / 60, this.perMinute, this.now)
      this.#buckets.set(user, bucket)
    }
    bucket.take()
  }
}

/**
 * The distinct conversations each user has subscribed to, over all of their connections: devices
 * of one user share their conversations, while an attacker's extra connections add nothing.
 */
export class UserSubscriptions {
  readonly #byUser = new Map<string, Map<string, number>>()

  constructor(readonly max: number) {}

  /** Whether `user` may subscribe to `conversation`: one of theirs already, or one more fits. */
  allows(user: string, conversation: string): boolean {
    const conversations = this.#byUser.get(user)
    return !conversations || conversations.has(conversation) || conversations.size < this.max
  }

  /**
   * Counts one subscription (ask `allows` first). It never refuses: connections of one user that
   * asked at the same time may pass `max` by a few, never by more than their number.
   */
  add(user: string, conversation: string): void {
    const conversations = this.#byUser.get(user) ?? new Map<string, number>()
    conversations.set(conversation, (conversations.get(conversation) ?? 0) + 1)
    this.#byUser.set(user, conversations)
  }

  /** Forgets one subscription (once per `add`). */
  remove(user: string, conversation: string): void {
    const conversations = this.#byUser.get(user)
    const count = conversations?.get(conversation)
    if (!conversations || count === undefined) return
    if (count > 1) conversations.set(conversation, count - 1)
    else conversations.delete(conversation)
    if (conversations.size === 0) this.#byUser.delete(user)
  }
}

/** The quotas on new docs and bindings, per conversation and per user, as the committer applies them. */
export class DocAdmission {
  readonly #docQuotas = new WeakMap<ConversationState, DocQuotas>()
  #userDocs: UserDocBudget | undefined

  constructor(
    private readonly maxDocsAhead: number,
    private readonly newDocsPerMinute: number,
    private readonly userNewDocsPerMinute: number,
  ) {}

  quotasOf(state: ConversationState): DocQuotas {
    let quotas = this.#docQuotas.get(state)
    if (!quotas) {
      quotas = new DocQuotas(this.maxDocsAhead, this.newDocsPerMinute)
      this.#docQuotas.set(state, quotas)
    }
    return quotas
  }

  /** Counts a new period doc against its creator's quotas; a Refusal when they are spent. */
  admitDoc(
    state: ConversationState,
    user: string,
    doc: string,
    ref: PeriodRef,
    now: number,
  ): Refusal | undefined {
    const quotas = this.quotasOf(state)
    const lengths = new Set<number>()
    for (const name of state.docs) {
      const other = parseDocName(name)
      if (other && other.kind !== 'meta') lengths.add(other.periodMs)
    }
    if (!lengths.has(ref.periodMs) && lengths.size >= DocQuotas.MAX_PERIOD_LENGTHS) {
      return new Refusal(
        'quota/exceeded',
        `more than ${DocQuotas.MAX_PERIOD_LENGTHS} period lengths in one conversation`,
      )
    }
    this.#userDocs ??= new UserDocBudget(this.userNewDocsPerMinute)
    if (!this.#userDocs.allows(user)) {
      return new Refusal(
        'quota/exceeded',
        `more than ${this.userNewDocsPerMinute} new docs a minute over all conversations`,
      )
    }
    const refusal = quotas.admit(user, doc, periodStart(ref), now)
    if (!refusal) this.#userDocs.take(user)
    return refusal
  }
}
