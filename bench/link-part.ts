import { inChild } from './child.js'
import type { LinkResult, LinkTask } from './link-net.js'
import { type Part, type Row, row, verdicts } from './rows.js'
import { markdownTable, ms, ratio, sig } from './table.js'
import { log, median } from './workload.js'

const RTT_MS = 100
const MBIT = 125_000
/** Issue #12: the speeds of the urgent-while-streaming row, bytes per second. */
const SPEEDS = [
  { label: '1 Mbit/s', bytesPerSecond: MBIT },
  { label: '256 kbit/s', bytesPerSecond: 32_000 },
  { label: '64 kbit/s', bytesPerSecond: 8_000 },
] as const
const REPS = 3
const BACKLOG = 10_000
const SMOKE_BACKLOG = 200
/** Into the stream when the urgent message of row 2 is sent. */
const STREAMING_MS = 2_000
const SMOKE_STREAMING_MS = 300

interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
}

const spread = (values: readonly number[]): Spread => ({
  median: median(values),
  min: Math.min(...values),
  max: Math.max(...values),
})

const span = (s: Spread, show: (n: number) => string) => `${show(s.median)} (${show(s.min)}–${show(s.max)})`

const secs = (n: number) => (Number.isFinite(n) ? `${(n / 1000).toFixed(2)} s` : 'n/a')

const runReps = async (task: LinkTask, reps: number): Promise<LinkResult[]> => {
  const results: LinkResult[] = []
  for (let r = 0; r < reps; r++) {
    const result = await inChild<LinkResult>(task)
    log(
      `  link ${task.peer} ${task.bytesPerSecond} B/s urgentAfter=${task.urgentAfterMs}: ${JSON.stringify(result)}`,
    )
    results.push(result)
  }
  return results
}

/** Rows 1 and 3: online with a backlog, Tidings and stock y-websocket interleaved rep by rep. */
const runOnline = async (backlog: number, reps: number) => {
  const base = {
    kind: 'link',
    backlog,
    bytesPerSecond: MBIT,
    rttMs: RTT_MS,
    urgentAfterMs: null,
    catchUp: true,
  } as const
  const tidings: LinkResult[] = []
  const stock: LinkResult[] = []
  for (let r = 0; r < reps; r++) {
    tidings.push(...(await runReps({ ...base, peer: 'tidings' }, 1)))
    stock.push(...(await runReps({ ...base, peer: 'stock' }, 1)))
  }
  return { tidings, stock }
}

export const linkPart: Part = {
  name: 'link',
  async run({ smoke }) {
    const reps = smoke ? 1 : REPS
    const backlog = smoke ? SMOKE_BACKLOG : BACKLOG
    const online = await runOnline(backlog, reps)
    const speeds = smoke ? SPEEDS.slice(0, 1) : SPEEDS
    const streaming: { label: string; results: LinkResult[] }[] = []
    for (const speed of speeds) {
      const task: LinkTask = {
        kind: 'link',
        peer: 'tidings',
        backlog,
        bytesPerSecond: speed.bytesPerSecond,
        rttMs: RTT_MS,
        urgentAfterMs: smoke ? SMOKE_STREAMING_MS : STREAMING_MS,
        catchUp: false,
      }
      streaming.push({ label: speed.label, results: await runReps(task, reps) })
    }

    const of = (results: LinkResult[], pick: (r: LinkResult) => number) => spread(results.map(pick))
    const urgentT = of(online.tidings, (r) => r.urgentMs)
    const urgentS = of(online.stock, (r) => r.urgentMs)
    const catchT = of(online.tidings, (r) => r.catchUpMs)
    const catchS = of(online.stock, (r) => r.catchUpMs)
    const upT = of(online.tidings, (r) => r.bytesUp)
    const upS = of(online.stock, (r) => r.bytesUp)
    const downT = of(online.tidings, (r) => r.bytesDown)
    const deliveries = of(online.tidings, (r) => r.urgentDeliveries)
    const floorMs = ((1.1 * upS.median) / MBIT) * 1000
    const rows: Row[] = [
      row({
        scenario: `urgent sent after going online with a ${backlog.toLocaleString('en-US')} backlog, 1 Mbit/s, ${RTT_MS} ms RTT`,
        metric: 'connect() → shown on peer',
        unit: 'ms',
        value: urgentT.median,
        peers: { 'Yjs + y-websocket': urgentS.median },
        goal: `≤ 2 RTT + 50 ms (${2 * RTT_MS + 50} ms)`,
        bound: { atMost: 2 * RTT_MS + 50 },
      }),
      ...streaming.map(({ label, results }) =>
        row({
          scenario: `urgent sent ${smoke ? SMOKE_STREAMING_MS : STREAMING_MS} ms into the backlog's stream, ${label}, ${RTT_MS} ms RTT`,
          metric: 'send() → shown on peer',
          unit: 'ms',
          value: of(results, (r) => r.urgentMs).median,
          goal: `≤ RTT + 250 ms (${RTT_MS + 250} ms)`,
          bound: { atMost: RTT_MS + 250 },
        }),
      ),
      row({
        scenario: `full catch-up of the ${backlog.toLocaleString('en-US')} backlog, 1 Mbit/s, ${RTT_MS} ms RTT`,
        metric: 'connect() → peer holds all',
        unit: 'ms',
        value: catchT.median,
        peers: { 'Yjs + y-websocket': catchS.median, '1.1 × stock bytes ÷ bandwidth': floorMs },
        ratio: catchT.median / floorMs,
        goal: '≤ 1.1 × (stock y-websocket bytes) ÷ bandwidth',
        bound: { atMost: 1 },
      }),
    ]
    const perMessage = (s: Spread) => sig(s.median / (backlog + 1))
    const table1 = markdownTable(
      ['measure', 'Tidings', 'Yjs + y-websocket'],
      [
        ['urgent, connect() → shown on peer', span(urgentT, ms), span(urgentS, ms)],
        ['catch-up, connect() → peer holds all', span(catchT, secs), span(catchS, secs)],
        [
          "bytes up the writer's link",
          `${sig(upT.median)} (${perMessage(upT)} B/msg)`,
          `${sig(upS.median)} (${perMessage(upS)} B/msg)`,
        ],
        [
          "bytes down the peer's link",
          `${sig(downT.median)}`,
          `${sig(of(online.stock, (r) => r.bytesDown).median)}`,
        ],
        ['updates carrying the urgent message at the peer', sig(deliveries.median), '—'],
        ['catch-up ÷ (1.1 × stock bytes ÷ bandwidth)', ratio(catchT.median / floorMs), ''],
      ],
    )
    const table2 = markdownTable(
      ['link', 'urgent send() → shown on peer, median (min–max)'],
      streaming.map(({ label, results }) => [
        label,
        span(
          of(results, (r) => r.urgentMs),
          ms,
        ),
      ]),
    )
    return {
      title: `Urgent on a slow link and catch-up (${RTT_MS} ms RTT, throttling proxy)`,
      body: [table1, '', table2, '', verdicts(rows), '', HOW(backlog, reps)].join('\n'),
      rows,
    }
  },
}

const HOW = (backlog: number, reps: number) =>
  `How: each rep runs in a fresh process on 127.0.0.1: a server (Tidings: \`createServer\` on memory storage; stock: a standard y-websocket server, y-protocols sync and awareness in memory, as y-websocket's classic utils), and two devices, each behind its own \`faultyProxy\` with the stated bandwidth per direction and ${RTT_MS / 2} ms each way. The peer connects and syncs first. The writer connects and syncs, goes offline (\`transport.disconnect()\`, \`provider.disconnect()\`), writes ${backlog.toLocaleString('en-US')} normal messages offline (Tidings: \`convo.send\` each, memory storage; stock: one \`Y.Map.set\` transaction each in one Y.Doc with a \`WebsocketProvider\` from y-websocket 3), then, for the first table, an urgent one, then connects again; the clock starts at \`connect()\` and stops when the peer's view (\`convo.messages()\`, or the peer's Y.Map) shows the urgent message, then holds every message. In the second table the urgent message is sent ${STREAMING_MS / 1000} s after \`connect()\`, while the backlog streams, and timed from its \`send()\`. Bytes are counted by the proxies from \`connect()\` on. ${reps} reps each, Tidings and stock interleaved; median (min–max).`
