import type { Layout } from './generate.js'
import { methodOpen } from './notes.js'
import { openTable, runOpen } from './open.js'
import { type Part, row, verdicts } from './rows.js'
import { median } from './workload.js'

const OPEN_REPS = 11
/** Issue #12: any conversation opens to its first screen within one frame budget of this. */
const GOAL_MS = 50

const LAYOUTS: readonly Layout[] = [
  { label: '50 messages, 1 period', messages: 50, perPeriod: 50, rows: 'per-message' },
  { label: '1,000 messages, 1 period', messages: 1_000, perPeriod: 1_000, rows: 'per-message' },
  {
    // The claim itself: a million messages behind a newest period that holds fifty.
    label: '1,000,050 messages, 1,000 periods × 1,000 + a newest period of 50, a row per message',
    messages: 1_000_050,
    perPeriod: 1_000,
    rows: 'per-message',
  },
  {
    label: '1,000,000 messages, 1,000 periods × 1,000, compacted',
    messages: 1_000_000,
    perPeriod: 1_000,
    rows: 'per-period',
  },
  {
    label: '1,000,000 messages, 100 periods × 10,000, compacted',
    messages: 1_000_000,
    perPeriod: 10_000,
    rows: 'per-period',
  },
]

const SMOKE_LAYOUTS: readonly Layout[] = [
  { label: '50 messages, 1 period', messages: 50, perPeriod: 50, rows: 'per-message' },
  {
    label: '2,000 messages, 4 periods × 500, compacted',
    messages: 2_000,
    perPeriod: 500,
    rows: 'per-period',
  },
]

export const openPart: Part = {
  name: 'open',
  async run({ smoke }) {
    const reps = smoke ? 1 : OPEN_REPS
    const results = await runOpen(smoke ? SMOKE_LAYOUTS : LAYOUTS, reps)
    const rows = results.map((r) =>
      row({
        scenario: `open, first screen: ${r.layout.label}`,
        metric: 'open() median',
        unit: 'ms',
        value: median(r.openMs),
        goal: `≤ ${GOAL_MS} ms`,
        bound: { atMost: GOAL_MS },
      }),
    )
    return {
      title: '2. Open time to the first screen',
      body: [openTable(results), '', verdicts(rows), '', methodOpen(reps)].join('\n'),
      rows,
    }
  },
}
