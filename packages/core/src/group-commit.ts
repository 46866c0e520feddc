interface Waiting<T> {
  readonly item: T
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

const isPromise = (value: unknown): value is Promise<void> =>
  typeof (value as { then?: unknown } | undefined)?.then === 'function'

// setImmediate where the platform has it (Node, Electron): it runs after pending I/O callbacks,
// so writes that arrive together from several sockets still share a transaction.
const nextTurn = (run: () => void): void => {
  const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate
  if (immediate) immediate(run)
  else setTimeout(run, 0)
}

/**
 * Group commit: writes issued in the same turn of the event loop share one transaction, so one
 * fsync acknowledges them all. Each promise still resolves only after the commit that holds it.
 * @remarks `commit` may be synchronous (better-sqlite3) or return a promise (a database client).
 * While an asynchronous commit runs, new writes queue and go together in the next one, so under
 * load the groups grow by themselves. When a shared commit fails, each write is retried alone, so
 * one write that does not fit (disk full) never takes the others down with it, and each keeps
 * all-or-nothing semantics.
 */
export class GroupCommit<T> {
  #queue: Waiting<T>[] = []
  #scheduled = false
  #running: Promise<void> | undefined
  #transactions = 0

  constructor(
    /** Commits every item in one transaction, or throws (rejects) having committed none. */
    private readonly commit: (items: readonly T[]) => void | Promise<void>,
    private readonly mapError: (error: unknown) => unknown,
    private readonly schedule: (run: () => void) => void = nextTurn,
  ) {}

  /** Queues an item for the next commit; resolves after that commit. */
  push(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      if (this.#scheduled) return
      this.#scheduled = true
      this.schedule(() => this.flush())
    })
  }

  /**
   * Starts committing what is queued now. A synchronous commit has finished when this returns,
   * so reads that call it first see every earlier write; behind an asynchronous commit in flight
   * the queue waits and goes next.
   */
  flush(): void {
    this.#scheduled = false
    if (this.#running || this.#queue.length === 0) return
    const group = this.#queue
    this.#queue = []
    const pending = this.#attempt(group)
    if (!pending) return
    this.#running = pending.finally(() => {
      this.#running = undefined
      this.flush()
    })
  }

  /** Resolves once every write queued so far has committed or failed. */
  async settled(): Promise<void> {
    this.flush()
    while (this.#running) await this.#running
  }

  /** Transactions attempted so far, to measure how well writes group. */
  get transactions(): number {
    return this.#transactions
  }

  /** One transaction for the group; settles every write of it. Never rejects. */
  #attempt(group: readonly Waiting<T>[]): Promise<void> | undefined {
    this.#transactions++
    let outcome: void | Promise<void>
    try {
      outcome = this.commit(group.map((w) => w.item))
    } catch (error) {
      return this.#failed(group, error)
    }
    if (!isPromise(outcome)) {
      for (const w of group) w.resolve()
      return undefined
    }
    return outcome.then(
      () => {
        for (const w of group) w.resolve()
      },
      (error: unknown) => this.#failed(group, error),
    )
  }

  #failed(group: readonly Waiting<T>[], error: unknown): Promise<void> | undefined {
    if (group.length === 1) {
      group[0]!.reject(this.mapError(error))
      return undefined
    }
    return this.#alone(group, 0)
  }

  /** Retries the writes of a failed group one transaction each, in order, from `from`. */
  #alone(group: readonly Waiting<T>[], from: number): Promise<void> | undefined {
    for (let i = from; i < group.length; i++) {
      const pending = this.#attempt([group[i]!])
      if (pending) return pending.then(() => this.#alone(group, i + 1))
    }
    return undefined
  }
}
