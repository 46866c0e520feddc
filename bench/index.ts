import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { type AppendPlan, appendTable, blocksTable, runAppend, summarize } from './append.js'
import { ENGINES } from './engines.js'
import type { Layout } from './generate.js'
import { describeMachine } from './machine.js'
import { METHOD_APPEND, METHOD_SIZES, methodOpen, whatEachAppendDoes } from './notes.js'
import { openTable, runOpen } from './open.js'
import { writeResults } from './results.js'
import { runSizes, sizesTable } from './sizes.js'
import { ratio } from './table.js'
import { log, now } from './workload.js'

/** The claim of issue #2: the 100,000th send costs at most this much more than the 10,000th. */
const GOAL_RATIO = 1.2
const OPEN_REPS = 11

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

const only = new Set((process.env.BENCH_ONLY ?? 'append,open,sizes').split(',').map((s) => s.trim()))
const started = new Date()
const start = now()
const machine = describeMachine()
const loadAtStart = loadavg()
const sections: { title: string; body: string }[] = []
const show = (title: string, body: string) => {
  sections.push({ title, body })
  process.stdout.write(`\n## ${title}\n\n${body}\n`)
}

log(machine.join('\n'))

if (only.has('append')) {
  const plans: AppendPlan[] = ENGINES.map((spec) => ({
    spec,
    reps: spec.reps,
    window: spec.prefills ? 20 : 1_000,
    mode: spec.prefills ? 'prefill' : 'full',
  }))
  const results = await runAppend(plans)
  const verdicts = results
    .filter((r) => r.plan.spec.name.startsWith('Tidings'))
    .map((result) => {
      const { ratio: r, ratios, cpuRatio } = summarize(result)
      const reps =
        ratios.length > 1 ? ` (median of ${ratios.length}, worst ${ratio(Math.max(...ratios))})` : ''
      return `${result.plan.spec.name}: cost ratio ${ratio(r)}${reps}, ${ratio(cpuRatio)} by CPU time, against the goal ≤ ${GOAL_RATIO}×: **${r <= GOAL_RATIO ? 'met' : 'NOT met'}**.`
    })
  const verdict = verdicts.length > 0 ? verdicts.map((v) => `- ${v}`).join('\n') : 'Tidings was not measured.'
  show(
    '1. Append cost as the log grows (one message per transaction)',
    [appendTable(results), '', verdict, '', METHOD_APPEND, '', whatEachAppendDoes(ENGINES)].join('\n'),
  )
  show('1b. Milliseconds per block of 10,000 messages (median of reps)', blocksTable(results))
}

if (only.has('open')) {
  const results = await runOpen(LAYOUTS, OPEN_REPS)
  show('2. Open time to the first screen', [openTable(results), '', methodOpen(OPEN_REPS)].join('\n'))
}

if (only.has('sizes')) {
  const results = await runSizes(ENGINES)
  show('3. Stored bytes for 10,000 messages', [sizesTable(results), '', METHOD_SIZES].join('\n'))
}

const durationMs = now() - start
const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ')
machine.push(
  `load average (1 / 5 / 15 min) at start ${load(loadAtStart)}, at end ${load(loadavg())}: ` +
    'anything above 0 means other processes shared the cores during the run',
)
log(`\ntotal ${(durationMs / 60_000).toFixed(1)} min`)
if (only.size === 3) {
  const path = fileURLToPath(new URL('./RESULTS.md', import.meta.url))
  writeResults(path, { started, durationMs, command: 'npm run bench', machine, sections })
  log(`wrote ${path}`)
} else {
  log('BENCH_ONLY set: RESULTS.md left as it was')
}
