import { type FaultyProxy, faultyProxy } from '@tidings/testing'
import { now } from './workload.js'

/** One rep of the `link` part: a device comes online with a backlog behind a throttled link. */
export interface LinkTask {
  readonly kind: 'link'
  readonly peer: 'tidings' | 'stock'
  /** Normal messages written offline before `connect()`. */
  readonly backlog: number
  /** Throughput of each direction of each client's link, bytes per second. */
  readonly bytesPerSecond: number
  readonly rttMs: number
  /** Null: the urgent message is written offline behind the backlog; else this long after `connect()`. */
  readonly urgentAfterMs: number | null
  /** Wait for the whole backlog to reach the peer (the catch-up time), not only the urgent message. */
  readonly catchUp: boolean
}

/** What one rep measured; NaN where the wait timed out. */
export interface LinkResult {
  /** From the urgent message's moment (`connect()`, or its `send()` when sent later) to the peer showing it, ms. */
  readonly urgentMs: number
  /** From `connect()` to the peer holding every message, ms (NaN without `catchUp`). */
  readonly catchUpMs: number
  /** Bytes the writing device sent up its link until then. */
  readonly bytesUp: number
  /** Bytes the peer received down its link until then. */
  readonly bytesDown: number
  /** Updates carrying the urgent message that reached the peer (1 when nothing is sent twice). */
  readonly urgentDeliveries: number
}

/** Longest a rep waits for the peer before it reports NaN. */
export const WAIT_CAP_MS = 180_000

/** A throttled proxy per client (writer and peer), each with the task's bandwidth and round trip. */
export const linkProxies = async (
  task: LinkTask,
  target: { readonly port: number },
): Promise<{ writer: FaultyProxy; peer: FaultyProxy; close(): Promise<void> }> => {
  const options = { target, bytesPerSecond: task.bytesPerSecond, latencyMs: task.rttMs / 2 }
  const writer = await faultyProxy(options)
  const peer = await faultyProxy(options)
  return { writer, peer, close: async () => void (await Promise.all([writer.close(), peer.close()])) }
}

/**
 * Resolves with the time `done()` first held, checked at every `changes` notification (and once
 * now); rejects never: after `capMs` it resolves NaN.
 */
export const whenTrue = (
  subscribe: (fn: () => void) => () => void,
  done: () => boolean,
  capMs = WAIT_CAP_MS,
): Promise<number> =>
  new Promise((resolve) => {
    let stop = () => {}
    const timer = setTimeout(() => {
      stop()
      resolve(Number.NaN)
    }, capMs)
    const check = () => {
      if (!done()) return
      clearTimeout(timer)
      stop()
      resolve(now())
    }
    stop = subscribe(check)
    check()
  })

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Resolves once this process has been idle for `quietMs` (no timer late by more than 20 ms), at most
 * after `capMs`: what writing the backlog left to do (debounced receipts, compaction) is done before
 * the clock starts, as on a device that wrote offline a while before the link came back.
 */
export const settle = (quietMs = 300, capMs = 10_000): Promise<void> =>
  new Promise((resolve) => {
    const start = now()
    let last = start
    let quietSince = start
    const timer = setInterval(() => {
      const t = now()
      if (t - last > 30) quietSince = t
      last = t
      if (t - quietSince >= quietMs || t - start >= capMs) {
        clearInterval(timer)
        resolve()
      }
    }, 10)
  })
