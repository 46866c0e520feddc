interface Waiting<T> {
  readonly item: T
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

/**
 * Group commit: writes issued in the same turn of the event loop share one transaction, so one
 * fsync acknowledges them all. Each promise still resolves only after the commit that holds it.
 * @remarks When a shared commit fails, each write is retried alone, so one write that does not
 * fit (disk full) never takes the others down with it, and each keeps all-or-nothing semantics.
 */
export class GroupCommit<T> {
  #queue: Waiting<T>[] = []
  #scheduled = false
  #transactions = 0

  constructor(
    /** Commits every item in one transaction, or throws having committed none. */
    private readonly commit: (items: readonly T[]) => void,
    private readonly mapError: (error: unknown) => unknown,
  ) {}

  /** Queues an item for the next commit; resolves after that commit. */
  push(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      if (this.#scheduled) return
      this.#scheduled = true
      setImmediate(() => this.flush())
    })
  }

  /** Commits what is queued now; reads call it first so they see every earlier write. */
  flush(): void {
    this.#scheduled = false
    const group = this.#queue
    if (group.length === 0) return
    this.#queue = []
    try {
      this.#transactions++
      this.commit(group.map((w) => w.item))
      for (const w of group) w.resolve()
      return
    } catch (error) {
      if (group.length === 1) {
        group[0]!.reject(this.mapError(error))
        return
      }
    }
    for (const w of group) {
      try {
        this.#transactions++
        this.commit([w.item])
        w.resolve()
      } catch (error) {
        w.reject(this.mapError(error))
      }
    }
  }

  /** Transactions attempted so far, to measure how well writes group. */
  get transactions(): number {
    return this.#transactions
  }
}
