import { SYNC_ORDER } from '@tidings/core'

const NORMAL = SYNC_ORDER.indexOf('normal')

/** Rank of a lane in SYNC_ORDER (lower goes first); an unknown lane ranks as normal. */
export const laneRank = (lane: string): number => {
  const rank = (SYNC_ORDER as readonly string[]).indexOf(lane)
  return rank === -1 ? NORMAL : rank
}

/**
 * One FIFO per lane, dequeued highest lane first: a frame queued later in a higher lane overtakes
 * every frame of lower lanes still waiting here.
 */
export class LaneQueue<T extends { readonly rank: number }> {
  readonly #lanes: T[][] = SYNC_ORDER.map(() => [])
  // Read positions, so a backlog of thousands dequeues in O(1) a frame.
  readonly #heads: number[] = SYNC_ORDER.map(() => 0)
  #size = 0

  /** Frames waiting. */
  get size(): number {
    return this.#size
  }

  /** Appends a frame to its lane. */
  push(item: T): void {
    this.#lanes[item.rank]!.push(item)
    this.#size++
  }

  /** Puts frames back at the head of their lanes, in the order given, ahead of what waits there. */
  requeue(items: readonly T[]): void {
    for (let rank = 0; rank < this.#lanes.length; rank++) {
      const back = items.filter((item) => item.rank === rank)
      if (back.length === 0) continue
      const lane = this.#lanes[rank]!
      this.#lanes[rank] = [...back, ...lane.slice(this.#heads[rank]!)]
      this.#heads[rank] = 0
      this.#size += back.length
    }
  }

  /** The frame that goes next, left in place. */
  peek(): T | undefined {
    for (let rank = 0; rank < this.#lanes.length; rank++) {
      const item = this.#lanes[rank]![this.#heads[rank]!]
      if (item) return item
    }
    return undefined
  }

  /** Removes and returns the frame that goes next. */
  shift(): T | undefined {
    for (let rank = 0; rank < this.#lanes.length; rank++) {
      const lane = this.#lanes[rank]!
      const head = this.#heads[rank]!
      const item = lane[head]
      if (!item) continue
      this.#size--
      if (head + 1 === lane.length) {
        lane.length = 0
        this.#heads[rank] = 0
      } else {
        lane[head] = undefined as unknown as T
        this.#heads[rank] = head + 1
      }
      return item
    }
    return undefined
  }

  /** Takes out every frame `drop` selects; returns them. */
  remove(drop: (item: T) => boolean): T[] {
    const removed: T[] = []
    for (let rank = 0; rank < this.#lanes.length; rank++) {
      const kept: T[] = []
      for (const item of this.#lanes[rank]!.slice(this.#heads[rank]!))
        (drop(item) ? removed : kept).push(item)
      this.#lanes[rank] = kept
      this.#heads[rank] = 0
    }
    this.#size -= removed.length
    return removed
  }
}
