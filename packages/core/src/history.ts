import { type DocRef, isMessageDoc, parseDocName, periodEnd, periodStart } from './lanes.js'
import type { DocInfo } from './storage.js'

/**
 * Which docs a conversation has and which periods are loaded. Loading goes newest period first;
 * `loadedFrom` is the start of the oldest period loaded, or -Infinity once everything older is
 * loaded too.
 * @remarks A period is named by its start time (ms), not its number: docs name their own period
 * length, and when devices wrote with different lengths (meta states none) the numbers of one
 * length say nothing about another's, while start times order them all.
 */
export class History {
  readonly #docs = new Map<string, { ref: DocRef; messages: number; newest: number }>()
  readonly #loaded = new Set<number>()
  loadedFrom = Number.POSITIVE_INFINITY

  constructor(infos: readonly DocInfo[]) {
    for (const info of infos) this.note(info.doc, info.messages, info.newest)
  }

  /** Records that a doc exists (or grew); returns its parsed name, undefined for foreign names. */
  note(doc: string, messages = 0, newest = 0): DocRef | undefined {
    const known = this.#docs.get(doc)
    if (known) {
      known.messages += messages
      known.newest = Math.max(known.newest, newest)
      return known.ref
    }
    const ref = parseDocName(doc)
    if (ref) this.#docs.set(doc, { ref, messages, newest })
    return ref
  }

  /** Messages written into a doc, as counted by the writers. */
  messagesOf(doc: string): number {
    return this.#docs.get(doc)?.messages ?? 0
  }

  forget(doc: string): void {
    this.#docs.delete(doc)
  }

  has(doc: string): boolean {
    return this.#docs.has(doc)
  }

  names(): string[] {
    return [...this.#docs.keys()]
  }

  /** The message-bearing docs of the period that starts at `start`. */
  docsOfPeriod(start: number): string[] {
    return [...this.#docs.values()]
      .filter(({ ref }) => isMessageDoc(ref) && periodStart(ref) === start)
      .map(({ ref }) => ref.name)
  }

  receiptDocs(): string[] {
    return [...this.#docs.values()].filter(({ ref }) => ref.kind === 'receipts').map(({ ref }) => ref.name)
  }

  /** Start times of the message-bearing periods, newest first. */
  periods(): number[] {
    const periods = new Set<number>()
    for (const { ref } of this.#docs.values()) if (isMessageDoc(ref)) periods.add(periodStart(ref))
    return [...periods].sort((a, b) => b - a)
  }

  /** When the period starting at `start` ends: its longest doc's end, when lengths differ. */
  endOf(start: number): number {
    let end = start
    for (const { ref } of this.#docs.values())
      if (isMessageDoc(ref) && periodStart(ref) === start) end = Math.max(end, periodEnd(ref))
    return end
  }

  /** Messages stored in the period starting at `start`, as counted by the writers. */
  messagesIn(start: number): number {
    let n = 0
    for (const { ref, messages } of this.#docs.values()) {
      if (isMessageDoc(ref) && ref.kind !== 'control' && periodStart(ref) === start) n += messages
    }
    return n
  }

  markLoaded(start: number): void {
    this.#loaded.add(start)
    this.loadedFrom = Math.min(this.loadedFrom, start)
  }

  isLoaded(start: number): boolean {
    return this.#loaded.has(start)
  }

  /** Unloaded periods older than the loaded window, newest first. */
  older(): number[] {
    return this.periods().filter((p) => p < this.loadedFrom && !this.#loaded.has(p))
  }

  /**
   * The newest unloaded period that reaches into the loaded window: one that starts before it but
   * ends inside (a week doc among hour docs). Its messages sit among those shown, so it must load.
   * Never one with periods of a single length, whose periods do not overlap.
   */
  overlapping(): number | undefined {
    let newest: number | undefined
    for (const { ref } of this.#docs.values()) {
      if (!isMessageDoc(ref)) continue
      const start = periodStart(ref)
      if (start >= this.loadedFrom || periodEnd(ref) <= this.loadedFrom || this.#loaded.has(start)) continue
      if (newest === undefined || start > newest) newest = start
    }
    return newest
  }

  /**
   * Whether a doc of the period starting at `start` belongs in memory: in or after the loaded
   * window, or reaching into it.
   */
  inWindow(start: number): boolean {
    return start >= this.loadedFrom || this.#loaded.has(start) || this.endOf(start) > this.loadedFrom
  }

  /** Marks history as fully loaded: every period older than the window is loaded or absent. */
  complete(): void {
    if (this.older().length === 0) this.loadedFrom = Number.NEGATIVE_INFINITY
  }
}
