import type { ClientContext } from './context.js'
import type { DocInfo } from './storage.js'

/** Rows a doc gathers at least before its rows are merged. */
export const COMPACT_ROWS = 256
/**
 * Bytes of new rows after which a doc's newest rows are merged (`compactTail`). Yjs merges about
 * 15 KiB a millisecond here, so a step stays a few milliseconds, well inside a frame, and a doc of
 * 150 MB (a million messages) ends with a few thousand rows.
 */
export const COMPACT_BYTES = 64 * 1024

/** What a doc stored since its last merge, and its message count at its last whole merge. */
interface Tally {
  rows: number
  bytes: number
  merged: number
}

/**
 * Decides when a conversation's stored rows are merged, and runs each merge as its own task in the
 * client's write queue, started from a timer: never inside a send, and one doc per turn of the
 * event loop. With a storage that has `compactTail`, once `COMPACT_ROWS` rows or `COMPACT_BYTES`
 * came in, a step merges exactly the rows stored since the previous step (their bytes are its
 * bound): each byte is merged once, and each step costs a bounded time. Otherwise the whole doc is
 * merged each time its rows reach its message count at the last merge: merges double in size,
 * amortised O(1) a row.
 */
export class Compactor {
  readonly #tallies = new Map<string, Tally>()
  readonly #due = new Set<string>()
  #timer: unknown
  #destroyed = false

  constructor(
    private readonly ctx: ClientContext,
    infos: readonly DocInfo[],
  ) {
    for (const info of infos) this.#tallies.set(info.doc, { rows: info.updates, bytes: 0, merged: 0 })
  }

  /** Counts a row just stored; `messages` is the doc's message count with it. */
  stored(doc: string, bytes: number, messages: number): void {
    let tally = this.#tallies.get(doc)
    if (!tally) {
      tally = { rows: 0, bytes: 0, merged: 0 }
      this.#tallies.set(doc, tally)
    }
    tally.rows++
    tally.bytes += bytes
    if (!this.ctx.storage.compactTail) {
      if (tally.rows < Math.max(COMPACT_ROWS, tally.merged)) return
      tally.rows = 1
      tally.merged = messages
    } else if (tally.rows < COMPACT_ROWS && tally.bytes < COMPACT_BYTES) return
    if (!this.#due.has(doc)) {
      this.#due.add(doc)
      this.#arm()
    } else if (tally.rows >= 2 * COMPACT_ROWS || tally.bytes >= 2 * COMPACT_BYTES) {
      // Twice due before its timer fired: the sender never yields to the event loop (a loop that
      // only awaits sends into memory), so the merge joins the write queue now rather than never.
      this.#due.delete(doc)
      void this.#merge(doc)
    }
  }

  forget(doc: string): void {
    this.#tallies.delete(doc)
    this.#due.delete(doc)
  }

  destroy(): void {
    this.#destroyed = true
    this.#due.clear()
    if (this.#timer !== undefined) this.ctx.options.timers.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#destroyed || this.#due.size === 0) return
    this.#timer = this.ctx.options.timers.setTimeout(() => this.#step(), 0)
  }

  #step(): void {
    this.#timer = undefined
    const [doc] = this.#due
    if (doc === undefined || this.#destroyed) return
    this.#due.delete(doc)
    // The timer is re-armed only once this step ran: one merge per turn of the event loop.
    this.#merge(doc).finally(() => this.#arm())
  }

  #merge(doc: string): Promise<void> {
    const { storage } = this.ctx
    return this.ctx
      .serial(async () => {
        const tally = this.#tallies.get(doc)
        if (!storage.compactTail) return storage.compact(doc)
        if (!tally) return
        // Read when the step runs, after every write queued before it: the rows since the last step.
        const bytes = tally.bytes
        tally.rows = 1
        tally.bytes = 0
        return storage.compactTail(doc, bytes)
      })
      .catch((error) => this.ctx.report(error))
  }
}
