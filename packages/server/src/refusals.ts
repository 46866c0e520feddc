import { TokenBucket } from './limits.js'

/**
 * Refusals per user, across all of the user's connections: closing one connection that only
 * sends refused updates costs the sender nothing if it can reconnect and start over, so the
 * budget follows the user. Each user has `max` refusals, refilled at `max` per minute.
 */
export class RefusalLedger {
  readonly #buckets = new Map<string, TokenBucket>()

  constructor(private readonly max: number) {}

  /** Counts a refusal for `user`; false when the user had none left (close the connection). */
  take(user: string): boolean {
    let bucket = this.#buckets.get(user)
    if (!bucket) {
      bucket = new TokenBucket(this.max / 60, this.max)
      this.#buckets.set(user, bucket)
    }
    return bucket.take()
  }

  /** Whether `user` has a refusal left, i.e. may open a connection. */
  allows(user: string): boolean {
    const bucket = this.#buckets.get(user)
    return !bucket || bucket.available() >= 1
  }

  /** Forgets users whose budget is whole again, so the ledger holds only recent offenders. */
  sweep(): void {
    for (const [user, bucket] of this.#buckets) if (bucket.available() >= this.max) this.#buckets.delete(user)
  }
}
