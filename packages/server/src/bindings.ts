import type { StorageAdapter } from '@tidings/core'

/**
 * The user the server's own writes (retention in meta) are bound to. A NUL cannot come from a
 * token-derived user id in practice, and no client write may touch items bound to it.
 */
export const SERVER_USER = '\u0000server'

/** Storage meta key of one clientID → user binding. */
export const bindingKey = (conversation: string, client: number): string =>
  `binding:${conversation}:${client}`

/**
 * clientID → user bindings of one conversation. The first struct of a clientID binds it to the
 * sender's user; the binding is persisted in the same storage write as that struct, one meta key
 * per clientID so a conversation with many sessions never rewrites a big blob.
 */
export class Bindings {
  /** Known bindings; null marks a clientID storage has no binding for. */
  readonly #known = new Map<number, string | null>()

  constructor(
    private readonly storage: StorageAdapter,
    readonly conversation: string,
    /** Other processes bind clientIDs too: "not bound" is asked again each time, never cached. */
    private readonly shared = false,
  ) {}

  /** Reads the bindings of these clientIDs that are not cached yet. */
  async prefetch(clients: Iterable<number>): Promise<void> {
    const missing = [...new Set(clients)].filter((client) => {
      const known = this.#known.get(client)
      return known === undefined || (known === null && this.shared)
    })
    const users = await Promise.all(
      missing.map((client) => this.storage.getMeta(bindingKey(this.conversation, client))),
    )
    missing.forEach((client, i) => {
      // A concurrent commit may have bound it meanwhile: never overwrite a known binding.
      if (!this.#known.get(client)) this.#known.set(client, users[i] ?? null)
    })
  }

  /** The user a clientID is bound to, if it is (after `prefetch`). */
  owner(client: number): string | undefined {
    return this.#known.get(client) ?? undefined
  }

  /** Records bindings after the write that persisted them. */
  commit(staged: ReadonlyMap<number, string>): void {
    for (const [client, user] of staged) this.#known.set(client, user)
  }

  /**
   * Claims staged bindings in storage, first writer wins across processes (when storage can).
   * @returns the clientIDs another process bound to someone else first; their winners are cached
   */
  async claim(staged: ReadonlyMap<number, string>): Promise<number[]> {
    if (!this.shared || !this.storage.claimMeta || staged.size === 0) return []
    const held = await this.storage.claimMeta(this.meta(staged))
    const lost: number[] = []
    for (const [client, user] of staged) {
      const winner = held.get(bindingKey(this.conversation, client))
      if (winner === undefined || winner === user) continue
      lost.push(client)
      this.#known.set(client, winner)
    }
    return lost
  }

  /** Meta entries that persist these bindings. */
  meta(staged: ReadonlyMap<number, string>): Record<string, string> {
    const meta: Record<string, string> = {}
    for (const [client, user] of staged) meta[bindingKey(this.conversation, client)] = user
    return meta
  }
}
