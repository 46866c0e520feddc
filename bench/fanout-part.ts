import { inChild } from './child.js'
import type { FanoutResult, FanoutTask } from './fanout.js'
import { BENCH_FRAMES_PER_SECOND, type FanoutPeer } from './fanout-server.js'
import { type Part, type Row, row, verdicts } from './rows.js'
import { int, markdownTable, sig } from './table.js'
import { log, median } from './workload.js'

/** Issue #12: the server delivers at least half as many messages per second as a raw ws relay. */
const GOAL_OF_RAW = 0.5
const REPS = 3
const PEERS: readonly FanoutPeer[] = ['tidings', 'ws', 'hocuspocus']
const NAMES: Record<FanoutPeer, string> = {
  tidings: 'Tidings',
  ws: 'raw ws JSON broadcast',
  hocuspocus: 'Hocuspocus 3.4.4',
}

interface Size {
  readonly receivers: number
  /** Latency phase: one message every this many ms, so the client process keeps up at every size. */
  readonly intervalMs: number
  readonly latencyMessages: number
  readonly throughputMessages: number
}
const SIZES: readonly Size[] = [
  { receivers: 1, intervalMs: 10, latencyMessages: 200, throughputMessages: 5_000 },
  { receivers: 10, intervalMs: 10, latencyMessages: 200, throughputMessages: 3_000 },
  // 100 Yjs receivers in one process apply 100 updates per message: at 100 messages/s that
  // process, not the server, would set the latency (it did in a first run, for Hocuspocus too).
  { receivers: 100, intervalMs: 50, latencyMessages: 100, throughputMessages: 1_000 },
]
const SMOKE_SIZES: readonly Size[] = [
  { receivers: 10, intervalMs: 10, latencyMessages: 10, throughputMessages: 100 },
]

/** Deliveries per second of server CPU time: what one core of the server could deliver. */
const perCpuSecond = (r: FanoutResult) => (r.deliveries / r.serverCpuMs) * 1000
const perWallSecond = (r: FanoutResult) => (r.deliveries / r.wallMs) * 1000

const spread = (values: readonly number[], show: (n: number) => string): string => {
  const m = show(median(values))
  return values.length < 2 ? m : `${m} (${show(Math.min(...values))}–${show(Math.max(...values))})`
}

const measure = async (smoke: boolean) => {
  const results = new Map<string, FanoutResult[]>()
  for (const size of smoke ? SMOKE_SIZES : SIZES) {
    for (let rep = 0; rep < (smoke ? 1 : REPS); rep++) {
      // Tidings first: the other peers send messages of the size Tidings' frames had.
      let payloadBytes = 200
      for (const peer of PEERS) {
        const task: FanoutTask = {
          kind: 'fanout',
          peer,
          receivers: size.receivers,
          latencyMessages: size.latencyMessages,
          intervalMs: size.intervalMs,
          throughputMessages: size.throughputMessages,
          window: 64,
          payloadBytes,
        }
        const result = await inChild<FanoutResult>(task)
        if (peer === 'tidings') payloadBytes = Math.round(result.bytesPerDelivery)
        log(
          `fanout ${peer} ×${size.receivers} rep ${rep + 1}: p50 ${sig(result.p50Ms)} ms, p99 ${sig(result.p99Ms)} ms, ${int(perWallSecond(result))}/s wall, ${int(perCpuSecond(result))}/server CPU-s`,
        )
        const key = `${size.receivers} ${peer}`
        results.set(key, [...(results.get(key) ?? []), result])
      }
    }
  }
  return results
}

const table = (results: Map<string, FanoutResult[]>): string => {
  const lines = [...results].map(([key, rs]) => {
    const [receivers, peer] = key.split(' ') as [string, FanoutPeer]
    return [
      receivers,
      NAMES[peer],
      spread(
        rs.map((r) => r.p50Ms),
        sig,
      ),
      spread(
        rs.map((r) => r.p99Ms),
        sig,
      ),
      spread(rs.map(perWallSecond), int),
      spread(
        rs.map((r) => (r.serverCpuMs * 1000) / r.deliveries),
        sig,
      ),
      spread(rs.map(perCpuSecond), int),
      int(median(rs.map((r) => r.bytesPerDelivery))),
    ]
  })
  return markdownTable(
    [
      'receivers',
      'server',
      'p50 send→receive ms',
      'p99 ms',
      'deliveries/s (wall)',
      'server CPU µs/delivery',
      'deliveries per server CPU-s',
      'B/delivery',
    ],
    lines,
    2,
  )
}

const rowsOf = (results: Map<string, FanoutResult[]>): Row[] => {
  const receiverCounts = [...new Set([...results.keys()].map((k) => Number(k.split(' ')[0])))]
  return receiverCounts.flatMap((n) => {
    const of = (peer: FanoutPeer, f: (r: FanoutResult) => number) =>
      median((results.get(`${n} ${peer}`) ?? []).map(f))
    const peers = (f: (r: FanoutResult) => number) => ({
      [NAMES.ws]: of('ws', f),
      [NAMES.hocuspocus]: of('hocuspocus', f),
    })
    const scenario = `live fan-out, ${n} receiving client${n === 1 ? '' : 's'} on one server`
    return [
      row({
        scenario,
        metric: 'deliveries per server CPU-second',
        unit: 'msg/s',
        value: of('tidings', perCpuSecond),
        peers: peers(perCpuSecond),
        ratio: of('tidings', perCpuSecond) / of('ws', perCpuSecond),
        goal: `≥ ${GOAL_OF_RAW}× raw ws JSON broadcast`,
        bound: { atLeast: GOAL_OF_RAW },
      }),
      row({
        scenario,
        metric: 'deliveries/s (wall)',
        unit: 'msg/s',
        value: of('tidings', perWallSecond),
        peers: peers(perWallSecond),
        ratio: of('tidings', perWallSecond) / of('ws', perWallSecond),
      }),
      row({
        scenario,
        metric: 'p50 send→receive',
        unit: 'ms',
        value: of('tidings', (r) => r.p50Ms),
        peers: peers((r) => r.p50Ms),
      }),
      row({
        scenario,
        metric: 'p99 send→receive',
        unit: 'ms',
        value: of('tidings', (r) => r.p99Ms),
        peers: peers((r) => r.p99Ms),
      }),
    ]
  })
}

const method = (
  reps: number,
): string => `How: per repetition (${reps}) and peer, a fresh server process on 127.0.0.1 (port 0) and a fresh client
process holding one sending client and the N receiving clients, each on its own WebSocket; the peers run
back to back, Tidings first, and the others send messages as large as Tidings' update frames were. After
20 warm-up messages, 200 messages are sent one every 10 ms (100 receivers: 100, one every 50 ms) and each
receiver's send→receive latency is recorded (p50 / p99 over all receivers; the receivers share one process,
so at 100 receivers the later ones in a round wait for the earlier ones to be handled). Then a burst of messages is sent with at most
64 not yet received by every receiver, and the server process's CPU time (user + system, all threads)
is read before and after it. "Deliveries per server CPU-s" (messages × receivers ÷ server CPU seconds) is
what the goal bounds: it is the server's own cost, whereas the wall rate also depends on how fast the
one client process applies what it receives (the two cores are shared by server and clients).
Tidings: \`createServer\` on memoryStorage (checks, group commit, acks and forwarding by lane as always;
the per-connection frame rate limit raised to ${int(BENCH_FRAMES_PER_SECOND)}/s and the sender's 400 frames/s
pace lifted, since one sender stands in for many); the sender is a full client (\`convo.send\`,
memoryStorage); each receiver is the real websocket transport (auth, subscribe, manifest), whose updates are
applied to a Y.Doc per doc, and a message counts when its key appears in the lane doc's map. Raw ws: a
\`ws\` server that relays each text message as it came to every other socket, nothing parsed, checked or
stored; receivers \`JSON.parse\` each message. Hocuspocus: \`@hocuspocus/server\` with no extensions
(no persistence), one Y.Doc; the sender and receivers are \`HocuspocusProvider\`s, the sender sets one
Y.Map key per message, receivers observe the map. No peer persists to disk. To see where the server's
time goes: \`FANOUT_PROFILE=<dir> BENCH_ONLY=fanout npm run bench\` writes a CPU profile of every server process.`

export const fanoutPart: Part = {
  name: 'fanout',
  async run({ smoke }) {
    const results = await measure(smoke)
    const rows = rowsOf(results)
    return {
      title: 'Live fan-out: one conversation, 1 / 10 / 100 receiving clients on one server',
      body: [table(results), '', verdicts(rows), '', method(smoke ? 1 : REPS)].join('\n'),
      rows,
    }
  },
}
