/**
 * Exclusive locks on names inside one process: what `withLock` of a single-process store needs,
 * and the first stage of a shared one (callers of one process queue here, not in the database).
 * @remarks A caller queues on all its names in one synchronous step, so the queues of every name
 * agree on one order and two callers with overlapping names never wait on each other in a cycle.
 */
export class NameLocks {
  /** The settle promise of the last caller queued on each name. */
  readonly #tails = new Map<string, Promise<void>>()

  /** Runs `fn` once every earlier holder of any of `names` is done; resolves or rejects as it does. */
  async run<T>(names: readonly string[], fn: () => Promise<T>): Promise<T> {
    const unique = [...new Set(names)]
    let release!: () => void
    const done = new Promise<void>((resolve) => {
      release = resolve
    })
    const before = unique.map((name) => this.#tails.get(name))
    for (const name of unique) this.#tails.set(name, done)
    try {
      await Promise.all(before)
      return await fn()
    } finally {
      release()
      for (const name of unique) if (this.#tails.get(name) === done) this.#tails.delete(name)
    }
  }

  /** Names held or waited for, for diagnostics and tests. */
  get size(): number {
    return this.#tails.size
  }
}
