import type { Lane } from './lanes.js'

/** One stored Yjs update of a doc, with its row number inside that doc (ascending with time). */
export interface StoredUpdate {
  readonly n: number
  readonly update: Uint8Array
}

/** What storage knows of a doc without loading it. */
export interface DocInfo {
  /** Doc name, `<conversation>/meta` or `<conversation>/<lane>/<period>`. */
  readonly doc: string
  /** Stored update rows (compaction lowers it). */
  readonly updates: number
  /** Messages written into the doc, as counted by the writers of its updates. */
  readonly messages: number
  /** Newest wall time (ms) of any stamp written into the doc, 0 when none was given. */
  readonly newest: number
}

/** An unacknowledged outgoing update, kept until the server acknowledges it. */
export interface OutboxEntry {
  /** Unique key, `<deviceId>.<seq>` of the first message it carries or another unique string. */
  readonly key: string
  readonly doc: string
  readonly lane: Lane | 'meta'
  readonly update: Uint8Array
  /** Message ids the update carries, so statuses can follow acks. */
  readonly messages: readonly string[]
}

/** One update to append to a doc. */
export interface UpdateWrite {
  readonly doc: string
  readonly update: Uint8Array
  /** Messages the update adds, added to the doc's count. */
  readonly messages?: number
  /** Newest stamp wall time in the update, raises the doc's `newest`. */
  readonly newest?: number
}

/** Everything one `write` commits in a single transaction. */
export interface WriteBatch {
  readonly updates?: readonly UpdateWrite[]
  /** Key/value metadata; a null value deletes the key. Values are strings (JSON by convention). */
  readonly meta?: Readonly<Record<string, string | null>>
  readonly outbox?: readonly OutboxEntry[]
  /** Outbox keys to remove: the server acknowledged them or they expired. */
  readonly acked?: readonly string[]
}

/**
 * Byte-oriented, durable storage for one client or one server. Implemented by `memoryStorage`,
 * `@tidings/storage-sqlite`, `@tidings/storage-indexeddb` and `@tidings/storage-postgres`; any
 * implementation must pass `runStorageConformance` from `@tidings/core/conformance`.
 * @remarks The optional methods (`loadAfter`, `claimMeta`, `withLock`) are what several server
 * processes sharing one store need; an adapter that has them passes their conformance tests too.
 */
export interface StorageAdapter {
  /** Lists the docs whose names start with `<conversation>/`, without loading their updates. */
  listDocs(conversation: string): Promise<DocInfo[]>
  /** Loads a doc's updates in row order; an unknown doc has none. */
  load(doc: string): Promise<StoredUpdate[]>
  /**
   * Commits a batch in one transaction and resolves after the commit is durable.
   * @remarks Either the whole batch is stored or none of it; a rejected write changes nothing.
   */
  write(batch: WriteBatch): Promise<void>
  /** Reads a metadata value. */
  getMeta(key: string): Promise<string | undefined>
  /** Lists the unacknowledged outbox entries in the order they were written. */
  outbox(): Promise<OutboxEntry[]>
  /**
   * Names each doc that has outbox entries, once. Optional, together with `outboxOf`.
   * @remarks With both, a client reads an entry only once its doc is loaded or the link, `pending()`
   * or retention need the whole outbox: opening with a large unsent backlog costs what the first
   * screen's docs hold, not the backlog. Without them it reads the whole outbox when it starts.
   */
  outboxDocs?(): Promise<string[]>
  /** Lists the outbox entries of one doc in the order they were written (see `outboxDocs`). */
  outboxOf?(doc: string): Promise<OutboxEntry[]>
  /**
   * Merges a doc's stored rows into one (Yjs `mergeUpdates`) in the same transaction that deletes
   * them.
   * @remarks A crash at any point leaves either the old rows or the merged one.
   */
  compact(doc: string): Promise<void>
  /**
   * Merges the doc's newest rows into one: as many, newest first, as fit together in `maxBytes`
   * (nothing when fewer than two fit). One call costs a bounded time, so a client can run it while
   * messages are being sent; a doc then holds about one row per `maxBytes`, which loads cheaply.
   * @remarks Optional: without it a client merges whole docs with `compact` at doubling intervals.
   * A crash at any point leaves either the old rows or the merged one; the merged row comes after
   * every row it did not merge.
   */
  compactTail?(doc: string, maxBytes: number): Promise<void>
  /** Deletes a doc with all its updates; outbox entries of the doc are removed too. */
  drop(doc: string): Promise<void>
  /**
   * Moves rows of a doc that passed the adapter's checks but that Yjs cannot read out of the doc
   * (into the adapter's quarantine, where it keeps one), `reason` saying why; unknown row numbers
   * are ignored. A client calls it when a load fails, so the doc loads and takes writes again.
   * @remarks Optional: without it such a doc stays unreadable (`storage/corrupt`) until dropped.
   */
  setAside?(doc: string, rows: readonly number[], reason: string): Promise<void>
  /** Releases the store; later calls reject with `storage/closed`. */
  close(): Promise<void>
  /**
   * Loads a doc's rows whose row number is above `after`, in row order: how a process catches up
   * with rows other processes committed since it last read the doc (`after` 0 loads them all).
   * @remarks A doc's row numbers never repeat, not after a compaction nor after a drop. A
   * compaction since then comes back as its merged row, which may repeat updates the caller holds;
   * applying a Yjs update twice changes nothing.
   */
  loadAfter?(doc: string, after: number): Promise<StoredUpdate[]>
  /**
   * Sets each metadata key that holds no value yet; a key that holds one keeps it. First writer
   * wins, atomically per key, across every handle and process sharing the store.
   * @remarks Resolves, after the claims are durable, with the value each claimed key holds: the
   * caller's where it won, the earlier one where it lost. A `write` sets meta unconditionally.
   */
  claimMeta?(claims: Readonly<Record<string, string>>): Promise<ReadonlyMap<string, string>>
  /**
   * Runs `fn` holding an exclusive lock on each name (a doc name or any other string), against
   * every other holder in this process or any other sharing the store; resolves or rejects as
   * `fn` does, after releasing the locks.
   * @remarks For read-check-write sequences across processes: take the lock, catch up
   * (`loadAfter`, `getMeta`), check, `write`, return. Names are taken together, so two callers
   * with overlapping sets never deadlock; calling `withLock` inside `fn` on a name already held
   * does. A process that dies releases its locks.
   */
  withLock?<T>(names: readonly string[], fn: () => Promise<T>): Promise<T>
}
