import type { Prepared } from './commit.js'

/** Storage lock name of a conversation's manifest (doc names never start with a colon). */
export const manifestLock = (conversation: string): string => `:manifest:${conversation}`

/** What a round needs when other processes commit to the same storage (see `Cluster`). */
export interface RoundGuard {
  readonly shared: boolean
  /** Runs `fn` holding the storage locks of these names against the other processes. */
  lock<T>(names: readonly string[], fn: () => Promise<T>): Promise<T>
  /** Catches the held docs, the bindings and the manifests a round reads up with storage. */
  catchUpRound(docs: readonly string[], prepared: readonly Prepared[]): Promise<void>
}

/**
 * Runs a round's checks and write under the storage locks of the docs it writes (and of the
 * manifest where it creates a doc), after catching up everything it reads: no other process checks
 * or commits those docs until this round's write is done. The docs only read (meta, pinned
 * messages) are caught up but not locked: a stale read there refuses (a device not registered
 * yet), never grants.
 */
export const lockedRound = <T>(
  guard: RoundGuard,
  held: ReadonlySet<string>,
  prepared: readonly Prepared[],
  commit: () => Promise<T>,
): Promise<T> => {
  const names: string[] = []
  for (const { job, state } of prepared) {
    names.push(job.doc)
    if (state && !state.docs.has(job.doc)) names.push(manifestLock(state.id))
  }
  return guard.lock(names, async () => {
    await guard.catchUpRound([...held], prepared)
    return commit()
  })
}
