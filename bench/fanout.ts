import { setTimeout as sleep } from 'node:timers/promises'
import { CONNECT } from './fanout-clients.js'
import { type FanoutPeer, startServerProcess } from './fanout-server.js'
import { now } from './workload.js'

/** One fan-out measurement: a fresh server process, a sender and `receivers` clients in this one. */
export interface FanoutTask {
  readonly kind: 'fanout'
  readonly peer: FanoutPeer
  readonly receivers: number
  /** Messages sent one every `intervalMs` while send-to-receive latency is recorded. */
  readonly latencyMessages: number
  readonly intervalMs: number
  /** Messages sent as fast as the window allows while deliveries per second are counted. */
  readonly throughputMessages: number
  /** Messages sent and not yet received by every receiver, at most, in the throughput phase. */
  readonly window: number
  /** Bytes of each raw `ws` / Hocuspocus message (Tidings sends its own encoding). */
  readonly payloadBytes: number
}

export interface FanoutResult {
  readonly peer: FanoutPeer
  readonly receivers: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Deliveries (messages × receivers) of the throughput phase. */
  readonly deliveries: number
  readonly wallMs: number
  /** The server process's CPU time (user + system) during the throughput phase. */
  readonly serverCpuMs: number
  /** Payload bytes a receiver got per message, throughput phase included. */
  readonly bytesPerDelivery: number
}

/** Messages sent first, unrecorded: docs get created and synced, code gets hot. */
const WARM_UP = 20
/** How long the receivers may take to get everything sent before the run fails. */
const DEADLINE_MS = 60_000

const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

export const runFanout = async (task: FanoutTask): Promise<FanoutResult> => {
  const { peer, receivers } = task
  const total = WARM_UP + task.latencyMessages + task.throughputMessages
  const sentAt = new Float64Array(total)
  const counts = new Int32Array(total)
  const latencies: number[] = []
  let recording = false
  let complete = 0
  let wanted = 0
  let wake: (() => void) | undefined
  const delivered = (_receiver: number, i: number) => {
    if (recording) latencies.push(now() - sentAt[i]!)
    if (++counts[i]! !== receivers) return
    complete++
    if (complete >= wanted) wake?.()
  }
  /** Resolves once `count` messages reached every receiver. */
  const until = async (count: number) => {
    if (complete >= count) return
    wanted = count
    const reached = new Promise<void>((resolve) => {
      wake = resolve
    })
    const late = sleep(DEADLINE_MS, 'late', { ref: false })
    if ((await Promise.race([reached, late])) === 'late')
      throw new Error(`${peer}, ${receivers} receivers: ${complete} of ${count} messages arrived`)
  }

  const server = await startServerProcess(peer)
  try {
    const clients = await CONNECT[peer]({
      url: server.url,
      receivers,
      payloadBytes: task.payloadBytes,
      delivered,
    })
    try {
      let i = 0
      for (; i < WARM_UP; i++) {
        sentAt[i] = now()
        await clients.send(i)
      }
      await until(i)
      await sleep(200)

      recording = true
      const start = now()
      for (let k = 0; k < task.latencyMessages; k++, i++) {
        sentAt[i] = now()
        await clients.send(i)
        const next = start + (k + 1) * task.intervalMs
        if (next > now()) await sleep(next - now())
      }
      await until(i)
      recording = false

      const cpuBefore = await server.cpuMicros()
      const began = now()
      const firstTimed = i
      const pending: Promise<unknown>[] = []
      for (; i < total; i++) {
        if (i - complete >= task.window) {
          await until(i - task.window + 1)
          await Promise.all(pending.splice(0))
        }
        sentAt[i] = now()
        const sent = clients.send(i)
        if (sent) pending.push(sent)
      }
      await Promise.all(pending)
      await until(total)
      const wallMs = now() - began
      const serverCpuMs = ((await server.cpuMicros()) - cpuBefore) / 1000
      latencies.sort((a, b) => a - b)
      return {
        peer,
        receivers,
        p50Ms: percentile(latencies, 0.5),
        p99Ms: percentile(latencies, 0.99),
        deliveries: (total - firstTimed) * receivers,
        wallMs,
        serverCpuMs,
        bytesPerDelivery: clients.receivedBytes / (total * receivers),
      }
    } finally {
      await clients.close()
    }
  } finally {
    await server.stop()
  }
}
