import { type DocRef, parseDocName } from './lanes.js'
import type { DocInfo } from './storage.js'

/**
 * Which docs a conversation has and which periods are loaded. Loading goes newest period first;
 * `loadedFrom` is the oldest period loaded, or -Infinity once everything older is loaded too.
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

  /** Docs of one kind: `receipts`, or the message-bearing docs of a period. */
  docsOfPeriod(period: number): string[] {
    return [...this.#docs.values()]
      .filter(({ ref }) => ref.kind !== 'meta' && ref.kind !== 'receipts' && ref.period === period)
      .map(({ ref }) => ref.name)
  }

  receiptDocs(): string[] {
    return [...this.#docs.values()].filter(({ ref }) => ref.kind === 'receipts').map(({ ref }) => ref.name)
  }

  /** Message-bearing periods, newest first. */
  periods(): number[] {
    const periods = new Set<number>()
    for (const { ref } of this.#docs.values()) {
      if (ref.kind !== 'meta' && ref.kind !== 'receipts') periods.add(ref.period)
    }
    return [...periods].sort((a, b) => b - a)
  }

  /** Messages stored in a period, as counted by the writers. */
  messagesIn(period: number): number {
    let n = 0
    for (const { ref, messages } of this.#docs.values()) {
      if (ref.kind !== 'meta' && ref.kind !== 'control' && ref.kind !== 'receipts' && ref.period === period)
        n += messages
    }
    return n
  }

  markLoaded(period: number): void {
    this.#loaded.add(period)
    this.loadedFrom = Math.min(this.loadedFrom, period)
  }

  isLoaded(period: number): boolean {
    return this.#loaded.has(period)
  }

  /** Unloaded periods older than the loaded window, newest first. */
  older(): number[] {
    return this.periods().filter((p) => p < this.loadedFrom && !this.#loaded.has(p))
  }

  /** Whether a doc of this period belongs in memory: in or after the loaded window. */
  inWindow(period: number): boolean {
    return period >= this.loadedFrom || this.#loaded.has(period)
  }

  /** Marks history as fully loaded: every period older than the window is loaded or absent. */
  complete(): void {
    if (this.older().length === 0) this.loadedFrom = Number.NEGATIVE_INFINITY
  }
}
