import { createHash } from 'node:crypto'

/**
 * The 64-bit advisory lock key of a name, as a decimal string for an `int8` parameter. Advisory
 * locks are database-wide: the schema and purpose are hashed in, so stores in other schemas, and
 * compaction versus `withLock`, never contend by accident.
 */
export const lockKey = (schema: string, purpose: string, name: string): string =>
  createHash('sha256').update(`${schema}\u0000${purpose}\u0000${name}`).digest().readBigInt64BE(0).toString()

/** Keys sorted as numbers, so every process takes a set of them in the same order. */
export const sortedKeys = (keys: Iterable<string>): string[] =>
  [...new Set(keys)].sort((a, b) => {
    const d = BigInt(a) - BigInt(b)
    return d < 0n ? -1 : d > 0n ? 1 : 0
  })

/**
 * A counting limit on concurrent holders: lock sessions each keep a pooled connection for as long
 * as they hold, so at most `limit` of them may, and the pool always keeps a connection for writes.
 */
export class Slots {
  #free: number
  readonly #waiting: (() => void)[] = []

  constructor(limit: number) {
    this.#free = Math.max(1, limit)
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--
    else await new Promise<void>((resolve) => this.#waiting.push(resolve))
    try {
      return await fn()
    } finally {
      const next = this.#waiting.shift()
      if (next) next()
      else this.#free++
    }
  }
}
