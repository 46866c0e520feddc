import { type AppendPlan, appendTable, blocksTable, POINTS, runAppend, summarize } from './append.js'
import { ENGINES } from './engines.js'
import { METHOD_APPEND, whatEachAppendDoes } from './notes.js'
import { type Part, type Row, row, verdicts } from './rows.js'

/** Issue #2's claim: the 100,000th send costs at most this much more than the 10,000th. */
const GOAL_RATIO = 1.2

const rowsOf = (results: Awaited<ReturnType<typeof runAppend>>): Row[] => {
  const peers: Record<string, number> = {}
  for (const r of results) peers[r.plan.spec.name] = summarize(r).ratio
  return results
    .filter((r) => r.plan.spec.name === 'Tidings convo.send')
    .map((r) =>
      row({
        scenario: 'append, one send each, memory storage',
        metric: `cost ratio ${POINTS.at(-1)}/${POINTS[0]}`,
        unit: '×',
        value: summarize(r).ratio,
        peers,
        goal: `slope ≤ ${GOAL_RATIO}×`,
        bound: { atMost: GOAL_RATIO },
      }),
    )
}

export const appendPart: Part = {
  name: 'append',
  async run({ smoke }) {
    const plans: AppendPlan[] = ENGINES.filter((spec) => !smoke || !spec.prefills).map((spec) => ({
      spec,
      reps: smoke ? 1 : spec.reps,
      window: spec.prefills ? 20 : smoke ? 100 : 1_000,
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
        whatEachAppendDoes(ENGINES),
        '',
        '### Milliseconds per block of messages (median of reps)',
        '',
        blocksTable(results),
      ].join('\n'),
      rows,
    }
  },
}
