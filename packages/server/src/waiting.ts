import type { UpdateJob, Writer } from './commit.js'
import type { Refusal } from './decode.js'

interface Waiting {
  readonly job: UpdateJob
  readonly refusal: Refusal
}

/**
 * Updates whose dependencies the server lacks, parked per doc until the doc advances: an earlier
 * update of the same doc may still come (a frame refused for rate and retried, say). Each waits
 * at most `waitMs` in all, then gets the refusal its check produced.
 */
export class WaitingRoom {
  readonly #byDoc = new Map<string, Waiting[]>()
  readonly #count = new Map<Writer, number>()
  readonly #deadlines = new WeakMap<UpdateJob, number>()
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(
    private readonly waitMs: number,
    private readonly maxPerWriter: number,
    private readonly now: () => number,
  ) {}

  /** Parks a job; false when it may wait no longer (its time is up, or its writer has too many). */
  wait(job: UpdateJob, refusal: Refusal): boolean {
    const now = this.now()
    const until = this.#deadlines.get(job) ?? now + this.waitMs
    const count = this.#count.get(job.writer) ?? 0
    if (now >= until || count >= this.maxPerWriter) return false
    this.#deadlines.set(job, until)
    this.#count.set(job.writer, count + 1)
    const list = this.#byDoc.get(job.doc) ?? []
    list.push({ job, refusal })
    this.#byDoc.set(job.doc, list)
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#expire(), Math.max(10, Math.min(1000, this.waitMs / 4)))
      this.#timer.unref?.()
    }
    return true
  }

  /** Takes the jobs waiting on a doc that just advanced, to check them again. */
  wake(doc: string): UpdateJob[] {
    const list = this.#byDoc.get(doc) ?? []
    this.#byDoc.delete(doc)
    for (const { job } of list) this.#release(job.writer)
    return list.map(({ job }) => job)
  }

  /** Refuses everything still waiting (shutdown). */
  close(): void {
    for (const list of this.#byDoc.values()) for (const waiting of list) giveUp(waiting)
    this.#byDoc.clear()
    this.#count.clear()
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }

  #expire(): void {
    const now = this.now()
    for (const [doc, list] of this.#byDoc) {
      const kept = list.filter((waiting) => {
        if ((this.#deadlines.get(waiting.job) ?? 0) > now) return true
        this.#release(waiting.job.writer)
        giveUp(waiting)
        return false
      })
      if (kept.length > 0) this.#byDoc.set(doc, kept)
      else this.#byDoc.delete(doc)
    }
    if (this.#byDoc.size === 0 && this.#timer) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  #release(writer: Writer): void {
    const count = (this.#count.get(writer) ?? 1) - 1
    if (count > 0) this.#count.set(writer, count)
    else this.#count.delete(writer)
  }
}

const giveUp = ({ job, refusal }: Waiting): void => {
  job.writer.refused(job, refusal)
  job.writer.released(job.update.length)
}
