import { compareSyncOrder, type DocVector } from '@tidings/core'
import type { ManifestChange } from '@tidings/protocol'

/** The state vector of an empty doc: asks for everything. */
export const EMPTY_STATE_VECTOR = new Uint8Array([0])

/** The conversation a doc name belongs to: the part before the first slash ('' without one). */
export const conversationOf = (doc: string): string => {
  const slash = doc.indexOf('/')
  return slash === -1 ? '' : doc.slice(0, slash)
}

/**
 * What the manifests of one conversation said, kept across connections as long as the version
 * that summarises it: a reconnect subscribes with that version and hears only later changes, so a
 * doc listed before the loss must still be asked for when the answer to its step 1 never came.
 */
export class ManifestMemory {
  /** The highest manifest version seen. */
  version = 0
  /** Docs listed as present. */
  readonly listed = new Set<string>()
  /** Docs listed as dropped: not asked for even when held, as no answer may come. */
  readonly dropped = new Set<string>()

  constructor(readonly conversation: string) {}

  apply(full: boolean, version: number, changes: readonly ManifestChange[]): void {
    if (full) this.listed.clear()
    this.version = Math.max(this.version, version)
    const prefix = `${this.conversation}/`
    for (const { doc, dropped } of changes) {
      if (!doc.startsWith(prefix)) continue
      if (dropped) {
        this.listed.delete(doc)
        this.dropped.add(doc)
      } else {
        this.listed.add(doc)
        this.dropped.delete(doc)
      }
    }
  }
}

/** A step 1 to send: `forwarded` when every update of the doc came forwarded on this connection. */
export interface StepOne extends DocVector {
  readonly forwarded?: boolean
}

/**
 * One subscription on one connection: `subscribing` until the server's first manifest (the server
 * has authorised it), `syncing` until every step 1 of the initial exchange has its step 2,
 * then `synced`; `refused` when the server denied it.
 */
export class ConversationSync {
  phase: 'subscribing' | 'syncing' | 'synced' | 'refused' = 'subscribing'
  /** Docs a step 1 went out for on this connection. */
  readonly #requested = new Set<string>()
  /** Step 1s of the initial exchange still waiting for their step 2. */
  readonly #awaiting = new Set<string>()
  /** Docs created after the subscription: their updates come forwarded. */
  readonly #forwarded = new Set<string>()
  /** `have()` calls in flight: the exchange is not over while one may still add step 1s. */
  listing = 0

  constructor(
    readonly conversation: string,
    readonly memory: ManifestMemory,
  ) {}

  /**
   * Takes in a manifest; true when it is the first one (the subscription is now authorised).
   * @remarks A doc a later manifest lists as created was created after this subscription began: the
   * server forwards every update of it to this connection, so asking for it while not holding it
   * would only bring the same structs a second time (issue #12: the urgent message came twice).
   */
  manifest(full: boolean, version: number, changes: readonly ManifestChange[]): boolean {
    this.memory.apply(full, version, changes)
    const first = this.phase === 'subscribing'
    if (first) this.phase = 'syncing'
    else if (!full) for (const { doc, dropped } of changes) if (!dropped) this.#forwarded.add(doc)
    return first
  }

  /**
   * The step 1s still to send, in sync order: every held doc and every listed doc, minus those
   * already asked for on this connection and those created since the subscription that are not
   * held (they come forwarded; a held one is asked for, so the server learns what it lacks).
   * Marks them requested.
   */
  toRequest(held: readonly DocVector[]): StepOne[] {
    const prefix = `${this.conversation}/`
    const vectors = new Map<string, Uint8Array>()
    for (const { doc, stateVector } of held) if (doc.startsWith(prefix)) vectors.set(doc, stateVector)
    const names = new Set([...vectors.keys(), ...this.memory.listed])
    const docs = [...names]
      .filter((doc) => !this.#requested.has(doc) && !this.memory.dropped.has(doc))
      .filter((doc) => vectors.has(doc) || !this.#forwarded.has(doc))
      .sort(compareSyncOrder)
    for (const doc of docs) {
      this.#requested.add(doc)
      if (this.phase === 'syncing') this.#awaiting.add(doc)
    }
    return docs.map((doc) => ({
      doc,
      stateVector: vectors.get(doc) ?? EMPTY_STATE_VECTOR,
      ...(this.#forwarded.has(doc) ? { forwarded: true } : {}),
    }))
  }

  /** A step 2 (or an error) answered the step 1 for `doc`. */
  answered(doc: string): void {
    this.#awaiting.delete(doc)
  }

  /** True once, when the initial exchange just finished. */
  finish(): boolean {
    if (this.phase !== 'syncing' || this.listing > 0 || this.#awaiting.size > 0) return false
    this.phase = 'synced'
    return true
  }
}
