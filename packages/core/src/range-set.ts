import { isDeviceId } from './ids.js'

/** JSON form of a RangeSet: per author device, flat pairs `[from, to, from, to, …]`, inclusive. */
export type RangeSetJSON = Record<string, number[]>

/**
 * A set of (device, seq) pairs kept as sorted, merged, inclusive ranges per device. Seqs are
 * dense per device, so a device that read everything up to n stores one range however large n is.
 */
export class RangeSet {
  readonly #ranges = new Map<string, number[]>()

  /** Reads a set from its JSON form, skipping entries that are not valid devices and ranges. */
  static fromJSON(json: unknown): RangeSet {
    const set = new RangeSet()
    if (typeof json !== 'object' || json === null) return set
    for (const [device, flat] of Object.entries(json)) {
      if (!isDeviceId(device) || !Array.isArray(flat)) continue
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const from = flat[i]
        const to = flat[i + 1]
        if (Number.isSafeInteger(from) && Number.isSafeInteger(to) && from! >= 1 && to! >= from!) {
          set.addRange(device, from!, to!)
        }
      }
    }
    return set
  }

  /** The JSON form: per device, sorted and merged `[from, to]` ranges. */
  toJSON(): RangeSetJSON {
    const json: RangeSetJSON = {}
    for (const device of [...this.#ranges.keys()].sort()) json[device] = [...this.#ranges.get(device)!]
    return json
  }

  /** An independent copy. */
  clone(): RangeSet {
    return RangeSet.fromJSON(this.toJSON())
  }

  /** The devices that have at least one seq in the set. */
  devices(): IterableIterator<string> {
    return this.#ranges.keys()
  }

  /** True when the set holds `seq` of `device`. */
  has(device: string, seq: number): boolean {
    const flat = this.#ranges.get(device)
    if (!flat) return false
    const i = this.#search(flat, seq)
    return i < flat.length && flat[i]! <= seq
  }

  /** Adds one seq; returns whether the set changed. */
  add(device: string, seq: number): boolean {
    return this.addRange(device, seq, seq)
  }

  /** Adds the inclusive range [from, to]; returns whether the set changed. */
  addRange(device: string, from: number, to: number): boolean {
    if (from > to) return false
    let flat = this.#ranges.get(device)
    if (!flat) {
      flat = []
      this.#ranges.set(device, flat)
    }
    // First pair whose end reaches from - 1 (touching ranges merge too).
    const start = this.#search(flat, from - 1)
    let end = start
    let lo = from
    let hi = to
    while (end < flat.length && flat[end]! <= to + 1) {
      lo = Math.min(lo, flat[end]!)
      hi = Math.max(hi, flat[end + 1]!)
      end += 2
    }
    if (end - start === 2 && flat[start] === lo && flat[start + 1] === hi) return false
    flat.splice(start, end - start, lo, hi)
    return true
  }

  /** Adds every pair of `other`; returns whether this set changed. */
  addAll(other: RangeSet): boolean {
    let changed = false
    for (const [device, flat] of other.#ranges) {
      for (let i = 0; i < flat.length; i += 2)
        changed = this.addRange(device, flat[i]!, flat[i + 1]!) || changed
    }
    return changed
  }

  /** Removes every pair of `other`; returns whether this set changed. */
  removeAll(other: RangeSet): boolean {
    const rest = this.difference(other)
    if (rest.equals(this)) return false
    this.#ranges.clear()
    for (const [device, flat] of rest.#ranges) this.#ranges.set(device, flat)
    return true
  }

  /** The smallest seq of `device` at or after `from` that is not in the set. */
  firstFree(device: string, from: number): number {
    const flat = this.#ranges.get(device)
    if (!flat) return from
    const i = this.#search(flat, from)
    // Ranges are merged, so the one holding `from` ends right before the next free seq.
    return i < flat.length && flat[i]! <= from ? flat[i + 1]! + 1 : from
  }

  /** The highest seq of `device` in the set, or 0. */
  last(device: string): number {
    const flat = this.#ranges.get(device)
    return flat && flat.length > 0 ? flat[flat.length - 1]! : 0
  }

  /** Number of pairs in the set. */
  get size(): number {
    let n = 0
    for (const flat of this.#ranges.values())
      for (let i = 0; i < flat.length; i += 2) n += flat[i + 1]! - flat[i]! + 1
    return n
  }

  /** Every (device, seq) pair, device by device in ascending seq. */
  *entries(): IterableIterator<[string, number]> {
    for (const [device, flat] of this.#ranges) {
      for (let i = 0; i < flat.length; i += 2)
        for (let s = flat[i]!; s <= flat[i + 1]!; s++) yield [device, s]
    }
  }

  /** The pairs of this set that are in none of `others`. */
  difference(...others: RangeSet[]): RangeSet {
    const result = new RangeSet()
    for (const [device, flat] of this.#ranges) {
      const cuts = new RangeSet()
      for (const other of others) {
        const o = other.#ranges.get(device)
        if (o) for (let i = 0; i < o.length; i += 2) cuts.addRange(device, o[i]!, o[i + 1]!)
      }
      const c = cuts.#ranges.get(device) ?? []
      for (let i = 0; i < flat.length; i += 2) {
        let from = flat[i]!
        const to = flat[i + 1]!
        for (let j = cuts.#search(c, from); j < c.length && c[j]! <= to && from <= to; j += 2) {
          if (c[j]! > from) result.addRange(device, from, c[j]! - 1)
          from = Math.max(from, c[j + 1]! + 1)
        }
        if (from <= to) result.addRange(device, from, to)
      }
    }
    return result
  }

  /** True when both sets hold the same seqs. */
  equals(other: RangeSet): boolean {
    return JSON.stringify(this.toJSON()) === JSON.stringify(other.toJSON())
  }

  /** Index of the first pair whose end is >= seq (binary search over the flat pairs). */
  #search(flat: number[], seq: number): number {
    let lo = 0
    let hi = flat.length / 2
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (flat[mid * 2 + 1]! < seq) lo = mid + 1
      else hi = mid
    }
    return lo * 2
  }
}
