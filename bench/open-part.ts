import type { Layout } from './generate.js'
import { methodOpen } from './notes.js'
import { type OpenResult, type OpenSeries, runOpen, STORAGES, type StorageKind } from './open.js'
import { type Part, type Row, row, verdicts } from './rows.js'
import { bytes, int, markdownTable, ms, ratio } from './table.js'
import { median, messageKey } from './workload.js'

const OPEN_REPS = 5
/** Issue #12: any conversation opens to its first screen within one frame budget of this … */
const GOAL_MS = 50
/** … growing the heap by at most this before the first screen shows. */
const GOAL_HEAP = 20 * 1024 * 1024
/** Opening with a full outbox costs at most this many times the same open with an empty one. */
const GOAL_OUTBOX_RATIO = 2

const DAY = 24 * 60 * 60 * 1000

interface Sized {
  readonly messages: number
  readonly perPeriod: number
}
/** The four conversations of the row, at a size (the smoke run shrinks them). */
const layouts = (spread: Sized, one: number, big: Sized): Layout[] => [
  { label: '50 messages, 1 period', messages: 50, perPeriod: 50, rows: 'per-message' },
  {
    label: `${int(spread.messages)} spread over ${spread.messages / spread.perPeriod} daily periods, compacted`,
    ...spread,
    periodMs: DAY,
    rows: 'per-period',
  },
  { label: `${int(one)} in ONE weekly period, compacted`, messages: one, perPeriod: one, rows: 'per-period' },
  {
    label: `${int(big.messages)} in ${int(big.messages / big.perPeriod)} weekly periods × ${int(big.perPeriod)}, compacted`,
    ...big,
    rows: 'per-period',
  },
]

/**
 * The outbox pair: the same stored, compacted docs, with every message unsent (an outbox entry per
 * send, as a device that wrote them offline holds them) or all acknowledged.
 */
const outboxPair = (spread: Sized): [Layout, Layout] => {
  const base = { ...spread, periodMs: DAY, rows: 'per-period' } as const
  const where = `${int(spread.messages)} messages in ${spread.messages / spread.perPeriod} daily periods, compacted`
  return [
    { label: `${where}, all ${int(spread.messages)} unsent (in the outbox)`, ...base, unsent: true },
    { label: `${where}, outbox empty`, ...base },
  ]
}

const FULL = {
  first: layouts({ messages: 100_000, perPeriod: 2_000 }, 100_000, { messages: 1_000_000, perPeriod: 1_000 }),
  outbox: outboxPair({ messages: 100_000, perPeriod: 2_000 }),
}
const SMOKE = {
  first: layouts({ messages: 2_000, perPeriod: 500 }, 2_000, { messages: 4_000, perPeriod: 500 }),
  outbox: outboxPair({ messages: 2_000, perPeriod: 500 }),
}

const mib = (n: number) => n / 1024 / 1024
const range = (values: readonly number[], fmt: (n: number) => string) =>
  `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`

const openTable = (results: readonly OpenResult[]): string =>
  markdownTable(
    [
      'conversation',
      'storage',
      'docs',
      'stored rows',
      'stored bytes',
      'open() median (min–max)',
      'CPU median',
      'heap growth median (min–max)',
      'outside heap',
      'messages() after open',
      'check',
    ],
    results.flatMap((r) =>
      STORAGES.map((kind) => {
        const s = r.storages[kind]
        return [
          r.layout.label,
          kind,
          int(r.generated.docs),
          int(r.generated.rows),
          bytes(r.generated.bytes),
          range(s.openMs, ms),
          ms(median(s.cpuMs)),
          range(s.heapBytes, bytes),
          bytes(median(s.externalBytes)),
          int(s.loaded),
          s.ok
            ? `ok, newest ${s.newestLoaded === messageKey(r.generated.newest) ? 'shown' : s.newestLoaded}`
            : `FAIL: ${s.problem}`,
        ]
      }),
    ),
  )

const firstScreenRows = (r: OpenResult, kind: StorageKind): Row[] => {
  const s: OpenSeries = r.storages[kind]
  const scenario = `open, first 50 visible: ${r.layout.label} (${kind})`
  return [
    row({
      scenario,
      metric: 'open() median',
      unit: 'ms',
      value: median(s.openMs),
      goal: `≤ ${GOAL_MS} ms`,
      bound: { atMost: GOAL_MS },
    }),
    row({
      scenario,
      metric: 'heap growth before the first screen, median',
      unit: 'MiB',
      value: mib(median(s.heapBytes)),
      goal: `≤ ${mib(GOAL_HEAP)} MiB`,
      bound: { atMost: mib(GOAL_HEAP) },
    }),
  ]
}

const outboxRow = (full: OpenResult, empty: OpenResult, kind: StorageKind): Row => {
  const value = median(full.storages[kind].openMs)
  const peer = median(empty.storages[kind].openMs)
  return row({
    scenario: `open with ${int(full.layout.messages)} unsent messages in the outbox (${kind})`,
    metric: 'open() median',
    unit: 'ms',
    value,
    peers: { 'same open, outbox empty': peer },
    ratio: value / peer,
    goal: `≤ ${GOAL_OUTBOX_RATIO}× the same open with an empty outbox`,
    bound: { atMost: GOAL_OUTBOX_RATIO },
  })
}

export const openPart: Part = {
  name: 'open',
  async run({ smoke }) {
    const reps = smoke ? 1 : OPEN_REPS
    const plan = smoke ? SMOKE : FULL
    const measured = await runOpen([...plan.first, ...plan.outbox], reps, smoke)
    const first = measured.slice(0, plan.first.length)
    const [full, empty] = measured.slice(plan.first.length) as [OpenResult, OpenResult]
    const rows = [
      ...first.flatMap((r) => STORAGES.flatMap((kind) => firstScreenRows(r, kind))),
      ...STORAGES.map((kind) => outboxRow(full, empty, kind)),
    ]
    const outboxRatios = STORAGES.map(
      (kind) => `${kind} ${ratio(median(full.storages[kind].openMs) / median(empty.storages[kind].openMs))}`,
    ).join(', ')
    return {
      title: '2. Open time and heap to the first screen',
      body: [
        openTable([...first, full, empty]),
        '',
        `Outbox: open with every message unsent ÷ the same open with an empty outbox: ${outboxRatios}.`,
        '',
        verdicts(rows),
        '',
        methodOpen(reps),
      ].join('\n'),
      rows,
    }
  },
}
