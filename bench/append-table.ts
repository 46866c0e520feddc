import { type AppendResult, BLOCK_ENDS, POINTS, type Slowest, summarize } from './append.js'
import { int, markdownTable, ratio, seconds, sig } from './table.js'
import { median } from './workload.js'

const k = (n: number) =>
  n >= 1_000_000 ? `${Number((n / 1_000_000).toPrecision(3))}M` : `${Number((n / 1000).toPrecision(3))}k`

const withSpread = (value: number, values: readonly number[]) =>
  values.length > 1
    ? `${ratio(value)} (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`
    : ratio(value)

/** The slowest single append over all reps, with its message number; '-' when not timed. */
const slowestOf = (result: AppendResult): string => {
  let worst: { rep: number; slowest: Slowest } | undefined
  result.reps.forEach((rep, r) => {
    if (rep.slowest && (!worst || rep.slowest.ms > worst.slowest.ms))
      worst = { rep: r + 1, slowest: rep.slowest }
  })
  return worst ? `${sig(worst.slowest.ms)} ms at #${int(worst.slowest.at)} (${worst.rep})` : '-'
}

export const appendTable = (results: readonly AppendResult[]): string => {
  const rows = results.map((result) => {
    const { plan } = result
    const { costs, slopes, total } = summarize(result)
    const at = (p: number, f: (c: number) => string) => (costs[p] === undefined ? '-' : f(costs[p]!))
    const slope = (s: number, which: 'wall' | 'cpu') => {
      const found = slopes[s]
      if (!found) return '-'
      return which === 'wall'
        ? withSpread(found.ratio, found.ratios)
        : withSpread(found.cpuRatio, found.cpuRatios)
    }
    return [
      plan.spec.name,
      `${plan.reps}`,
      `${int(plan.window)}`,
      ...POINTS.map((_, p) => at(p, (c) => int(1e6 / c))),
      ...POINTS.map((_, p) => at(p, sig)),
      slope(0, 'wall'),
      slope(0, 'cpu'),
      slope(1, 'wall'),
      slope(1, 'cpu'),
      plan.mode === 'full' ? seconds(total) : 'prefilled',
      slowestOf(result),
    ]
  })
  return markdownTable(
    [
      'engine',
      'reps',
      'window',
      ...POINTS.map((p) => `msgs/s @${k(p)}`),
      ...POINTS.map((p) => `µs/msg @${k(p)}`),
      `ratio ${k(POINTS[1]!)}/${k(POINTS[0]!)}, wall (min–max)`,
      'same, CPU',
      `ratio ${k(POINTS[2]!)}/${k(POINTS[1]!)}, wall (min–max)`,
      'same, CPU',
      'time to the last point',
      'slowest single append (rep)',
    ],
    rows,
  )
}

export const blocksTable = (results: readonly AppendResult[]): string => {
  const full = results.filter((r) => r.plan.mode === 'full')
  const starts = [0, ...BLOCK_ENDS.slice(0, -1)]
  const headers = ['engine', ...BLOCK_ENDS.map((end, b) => `${k(starts[b]!)}–${k(end)}`)]
  const rows = full.map((result) => [
    result.plan.spec.name,
    ...BLOCK_ENDS.map((_, b) => {
      const values = result.reps.map((r) => r.blocks[b]).filter((v): v is number => v !== undefined)
      return values.length === 0 ? '-' : sig(median(values))
    }),
  ])
  return markdownTable(headers, rows)
}
