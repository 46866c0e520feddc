import { compareOrder, type OrderKey } from './message.js'

/**
 * Items kept sorted by their order key. A late item is placed by binary search, never by
 * re-sorting, and `values()` returns the same frozen array until something changes.
 */
export class Timeline<T extends { readonly id: string; readonly key: OrderKey }> {
  readonly #items: T[] = []
  readonly #byId = new Map<string, T>()
  #snapshot: readonly T[] | undefined

  get size(): number {
    return this.#items.length
  }

  get(id: string): T | undefined {
    return this.#byId.get(id)
  }

  /** Inserts or replaces an item; returns its position. */
  upsert(item: T): number {
    const existing = this.#byId.get(item.id)
    if (existing) {
      const at = this.indexOf(existing)
      if (compareOrder(existing.key, item.key) === 0) {
        this.#items[at] = item
        this.#byId.set(item.id, item)
        this.#snapshot = undefined
        return at
      }
      this.#items.splice(at, 1)
    }
    const at = this.#search(item.key)
    this.#items.splice(at, 0, item)
    this.#byId.set(item.id, item)
    this.#snapshot = undefined
    return at
  }

  remove(id: string): boolean {
    const existing = this.#byId.get(id)
    if (!existing) return false
    this.#items.splice(this.indexOf(existing), 1)
    this.#byId.delete(id)
    this.#snapshot = undefined
    return true
  }

  /** Position of an item that is in the timeline, by binary search on its key. */
  indexOf(item: T): number {
    const at = this.#search(item.key)
    return this.#items[at]?.id === item.id ? at : this.#items.indexOf(item)
  }

  /** Items from the first up to and including `item`. */
  upTo(item: T): T[] {
    return this.#items.slice(0, this.indexOf(item) + 1)
  }

  values(): readonly T[] {
    this.#snapshot ??= Object.freeze(this.#items.slice())
    return this.#snapshot
  }

  /** First index whose key is >= key. */
  #search(key: OrderKey): number {
    // New messages mostly sort last: check the end before searching.
    const last = this.#items[this.#items.length - 1]
    if (!last || compareOrder(last.key, key) < 0) return this.#items.length
    let lo = 0
    let hi = this.#items.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareOrder(this.#items[mid]!.key, key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
