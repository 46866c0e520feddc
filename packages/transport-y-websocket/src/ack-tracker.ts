import { type Doc, decodeStateVector, encodeStateVector, parseUpdateMeta } from 'yjs'

/** An outbox key waiting for proof that the server holds its update. */
export interface Waiting {
  readonly key: string
  /** Per client, the first and the next clock the update carries. */
  readonly from: ReadonlyMap<number, number>
  readonly to: ReadonlyMap<number, number>
  tries: number
}

/**
 * Acks for a protocol that has none. A probe is a sync step 1 whose state vector stops, for every
 * client of the waiting updates, where those updates start; the server answers with a step 2 of what
 * it holds from there. A key is acknowledged when that answer reaches the end of its update: the server
 * has applied it (a stock server keeps it in memory; whether it is stored depends on the server).
 * Replies are matched to step 1s in order, as y-websocket servers answer each one in turn.
 */
export class AckTracker {
  /** One entry per step 1 on the current socket: the keys its step 2 may prove, or null. */
  #replies: (Waiting[] | null)[] = []
  #pending: Waiting[] = []
  /** Keys pending or probed: a resent outbox entry is not tracked twice. */
  readonly #keys = new Set<string>()

  /** Keys waiting for a probe. */
  get pending(): number {
    return this.#pending.length
  }

  /** Tracks a key; false when it is already tracked. */
  add(key: string, update: Uint8Array): boolean {
    if (this.#keys.has(key)) return false
    this.#keys.add(key)
    const { from, to } = parseUpdateMeta(update)
    this.#pending.push({ key, from, to, tries: 0 })
    return true
  }

  /** A new socket: its first reply answers the provider's own step 1; probes on the old one are lost. */
  socket(connected: boolean): void {
    // Their keys come again with the client's resend on reconnect; pending ones stay pending.
    for (const entry of this.#replies) for (const w of entry ?? []) this.#keys.delete(w.key)
    this.#replies = connected ? [null] : []
  }

  /** Forgets everything (the transport went offline; the client resends its outbox later). */
  clear(): void {
    this.#replies = []
    this.#pending = []
    this.#keys.clear()
  }

  /** The step 1 that probes every pending key (they move to the replies), or, with none, a plain one. */
  probe(doc: Doc): Uint8Array {
    const waiting = this.#pending
    this.#pending = []
    this.#replies.push(waiting.length > 0 ? waiting : null)
    if (waiting.length === 0) return encodeStateVector(doc)
    const vector = decodeStateVector(encodeStateVector(doc))
    for (const w of waiting)
      for (const [client, clock] of w.from) vector.set(client, Math.min(vector.get(client) ?? 0, clock))
    return encodeStateVector(vector)
  }

  /** A step 1 that proves nothing (a keepalive): its reply is noted so the order stays right. */
  plain(doc: Doc): Uint8Array {
    this.#replies.push(null)
    return encodeStateVector(doc)
  }

  /** A step 2 arrived: returns the keys it proves and the entries to probe again. */
  answered(update: Uint8Array): { acked: string[]; unproven: Waiting[] } {
    const entry = this.#replies.shift()
    if (!entry) return { acked: [], unproven: [] }
    let held: ReadonlyMap<number, number>
    try {
      held = parseUpdateMeta(update).to
    } catch {
      held = new Map()
    }
    const acked: string[] = []
    const unproven: Waiting[] = []
    for (const w of entry) {
      // A delete-only update has no structs to find; the reply's order is all the proof there is.
      const proven = [...w.to].every(([client, clock]) => (held.get(client) ?? 0) >= clock)
      if (proven) {
        this.#keys.delete(w.key)
        acked.push(w.key)
      } else unproven.push(w)
    }
    return { acked, unproven }
  }

  /** Puts an unproven entry back for the next probe, unless it was given up meanwhile. */
  retry(w: Waiting): boolean {
    if (!this.#keys.has(w.key)) return false
    w.tries++
    this.#pending.push(w)
    return true
  }

  /** Stops tracking a key (the client resends it on its next reconnect). */
  giveUp(w: Waiting): void {
    this.#keys.delete(w.key)
  }
}
