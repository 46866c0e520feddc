import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createClient, memoryStorage } from '@tidings/core'
import * as Y from 'yjs'
import { ONE_PERIOD_MS } from './engines.js'
import { messageKey, messageRecord, messageText, now, USER } from './workload.js'

/** What one app-like run of sends saw: the event loop's longest block and each send's latency. */
export interface StallRep {
  readonly messages: number
  readonly wall: number
  /** Longest delay of a 1 ms timer (monitorEventLoopDelay, resolution 1), in ms. */
  readonly maxBlock: number
  /** The longest stretch between two consecutive turns of the send loop, in ms. */
  readonly maxTurn: number
  readonly p50: number
  readonly p99: number
  readonly maxLatency: number
  /** Message number whose send took longest. */
  readonly slowestAt: number
}

const percentile = (sorted: Float64Array, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Sends `messages` messages the way an app does: each send starts in its own macrotask (a
 * setImmediate callback), so timers, I/O and the client's own background work (compaction) run
 * between sends. `append(i)` is one send; its latency is the time until it resolves.
 */
const appLoop = async (messages: number, append: (i: number) => unknown): Promise<StallRep> => {
  const latencies = new Float64Array(messages)
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  let maxTurn = 0
  let slowest = -1
  let slowestAt = 0
  let last = now()
  const start = last
  histogram.enable()
  for (let i = 1; i <= messages; i++) {
    await nextTurn()
    const before = now()
    maxTurn = Math.max(maxTurn, before - last)
    const pending = append(i)
    if (pending instanceof Promise) await pending
    last = now()
    latencies[i - 1] = last - before
    if (last - before > slowest) {
      slowest = last - before
      slowestAt = i
    }
  }
  // Work the sends left behind (compaction steps from timers) runs while the monitor still looks.
  for (let t = 0; t < 20; t++) await new Promise((resolve) => setTimeout(resolve, 5))
  histogram.disable()
  const wall = last - start
  const sorted = latencies.slice().sort()
  return {
    messages,
    wall,
    maxBlock: histogram.max / 1e6,
    maxTurn,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    maxLatency: sorted[sorted.length - 1]!,
    slowestAt,
  }
}

/** One rep in this process: Tidings' send on memoryStorage, or raw Yjs Y.Map set, in the app loop. */
export const stallRep = async (engine: 'tidings' | 'yjs', messages: number): Promise<StallRep> => {
  if (engine === 'yjs') {
    const doc = new Y.Doc()
    const map = doc.getMap<unknown>('m')
    const stored: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => stored.push(update))
    return appLoop(messages, (i) => doc.transact(() => map.set(messageKey(i), messageRecord(i))))
  }
  const client = createClient({ user: USER, storage: memoryStorage(), periodMs: ONE_PERIOD_MS })
  const convo = await client.open('bench-stall')
  const rep = await appLoop(messages, (i) => convo.send({ text: messageText(i) }))
  await client.close()
  return rep
}
