import { type AppendPlan, type AppendResult, POINTS, runAppend, summarize } from './append.js'
import { appendTable, blocksTable } from './append-table.js'
import { ENGINES } from './engines.js'
import { METHOD_APPEND, whatEachAppendDoes } from './notes.js'
import { type Part, type Row, row, verdicts } from './rows.js'

/** Issue #12: the marginal cost of a send grows at most this much from 10k to 100k and to 1M. */
const GOAL_SLOPE = 1.2
const SCENARIO = 'append, one send each, memory storage'
const TIDINGS = 'Tidings convo.send'
/** Throughput goals at 100k against the by-id peers: Tidings msgs/s ÷ peer msgs/s. */
const THROUGHPUT_GOALS = [
  { peer: 'Yjs Y.Map set by id', atLeast: 0.6 },
  { peer: 'Loro LoroMap set by id', atLeast: 10 },
  { peer: 'Automerge map set by id', atLeast: 100 },
] as const

const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`)

const rowsOf = (results: readonly AppendResult[]): Row[] => {
  const byName = new Map(results.map((r) => [r.plan.spec.name, summarize(r)]))
  const tidings = byName.get(TIDINGS)
  if (!tidings) return []
  const rows: Row[] = []
  tidings.slopes.forEach((slope, s) => {
    const peers: Record<string, number> = {}
    for (const [name, summary] of byName) {
      const found = summary.slopes[s]
      if (found) peers[name] = found.ratio
    }
    rows.push(
      row({
        scenario: SCENARIO,
        metric: `cost ratio ${label(POINTS[s + 1]!)}/${label(POINTS[s]!)} (µs per send, wall)`,
        unit: '×',
        value: slope.ratio,
        peers,
        goal: `slope ≤ ${GOAL_SLOPE}×`,
        bound: { atMost: GOAL_SLOPE },
      }),
    )
  })
  const at100k = (name: string) => {
    const cost = byName.get(name)?.costs[1]
    return cost === undefined ? Number.NaN : 1e6 / cost
  }
  for (const { peer, atLeast } of THROUGHPUT_GOALS) {
    if (!byName.has(peer)) continue
    rows.push(
      row({
        scenario: SCENARIO,
        metric: `msgs/s @${label(POINTS[1]!)}, Tidings ÷ ${peer}`,
        unit: 'msgs/s',
        value: at100k(TIDINGS),
        peers: { [peer]: at100k(peer) },
        ratio: at100k(TIDINGS) / at100k(peer),
        goal: `≥ ${atLeast}× ${peer}`,
        bound: { atLeast },
      }),
    )
  }
  return rows
}

export const appendPart: Part = {
  name: 'append',
  async run({ smoke }) {
    const all = process.env.BENCH_APPEND_ALL === '1'
    const specs = ENGINES.filter((spec) => (!smoke || !spec.prefills) && (all || !spec.optional))
    const plans: AppendPlan[] = specs.map((spec) => ({
      spec,
      reps: smoke ? 1 : spec.reps,
      window: spec.prefills ? 20 : smoke ? 100 : 2_000,
      mode: spec.prefills ? 'prefill' : 'full',
    }))
    const results = await runAppend(plans)
    const rows = rowsOf(results)
    return {
      title: '1. Append cost as the log grows (one message per transaction)',
      body: [
        appendTable(results),
        '',
        verdicts(rows),
        '',
        METHOD_APPEND,
        '',
        whatEachAppendDoes(specs),
        '',
        '### Milliseconds per block of messages (median of reps)',
        '',
        blocksTable(results),
      ].join('\n'),
      rows,
    }
  },
}
