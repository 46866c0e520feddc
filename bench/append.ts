import { inChild } from './child.js'
import type { Engine, EngineSpec } from './engines.js'
import { int, markdownTable, ratio, seconds, sig } from './table.js'
import { collectGarbage, log, median, now } from './workload.js'

/** The smoke run of `npm test` (BENCH_SMOKE=1, inherited by worker processes) shrinks every size. */
const SMOKE = process.env.BENCH_SMOKE === '1'
/** The two points of the log whose marginal cost is compared. */
export const POINTS: readonly number[] = SMOKE ? [1_000, 2_000] : [10_000, 100_000]
const TOTAL = POINTS[POINTS.length - 1]!
const BLOCK = SMOKE ? 1_000 : 10_000

export interface AppendPlan {
  readonly spec: EngineSpec
  readonly reps: number
  /** Messages timed just before each point: the window of 10k is messages 10k - window + 1 … 10k. */
  readonly window: number
  /** `full` appends every message one by one; `prefill` builds the log up to the window in bulk. */
  readonly mode: 'full' | 'prefill'
}

export interface Rep {
  /** Wall ms spent in each window, one per point. */
  readonly windows: number[]
  /** Process CPU ms (user + system) in each window: robust when other processes share the cores. */
  readonly cpuWindows: number[]
  /** ms per block of 10k messages (full mode only). */
  readonly blocks: number[]
  readonly total: number
  /** The slowest single append of the run and its message number, where the engine asks for it. */
  readonly slowest?: Slowest
}

export interface AppendResult {
  readonly plan: AppendPlan
  readonly reps: readonly Rep[]
}

const append = (engine: Engine, i: number): Promise<void> | undefined => {
  const pending = engine.append(i)
  return pending instanceof Promise ? pending : undefined
}

interface Slowest {
  ms: number
  at: number
}

/**
 * Appends `from`…`to` and returns the elapsed wall and CPU ms. Sync engines never await. With
 * `slowest`, each append is timed too (about 0.1 µs each) and the slowest one is kept there.
 */
const timeRange = async (
  engine: Engine,
  from: number,
  to: number,
  slowest?: Slowest,
): Promise<{ wall: number; cpu: number }> => {
  const cpu = process.cpuUsage()
  const start = now()
  if (slowest) {
    for (let i = from; i <= to; i++) {
      const before = now()
      const pending = append(engine, i)
      if (pending) await pending
      const took = now() - before
      if (took > slowest.ms) {
        slowest.ms = took
        slowest.at = i
      }
    }
  } else {
    for (let i = from; i <= to; i++) {
      const pending = append(engine, i)
      if (pending) await pending
    }
  }
  const wall = now() - start
  const used = process.cpuUsage(cpu)
  return { wall, cpu: (used.user + used.system) / 1000 }
}

const fullRun = async (spec: EngineSpec, window: number, total: number): Promise<Rep> => {
  const engine = await spec.make(0)
  const ends = new Set<number>()
  for (let b = BLOCK; b <= total; b += BLOCK) ends.add(b)
  for (const p of POINTS) if (p <= total) ends.add(p - window)
  const windows = POINTS.map(() => Number.NaN)
  const cpuWindows = POINTS.map(() => Number.NaN)
  const blocks: number[] = []
  const slowest = spec.timeEach ? { ms: 0, at: 0 } : undefined
  let from = 1
  let elapsed = 0
  for (const to of [...ends].sort((a, b) => a - b)) {
    const { wall, cpu } = await timeRange(engine, from, to, slowest)
    elapsed += wall
    const point = POINTS.indexOf(to)
    if (point >= 0 && from === to - window + 1) {
      windows[point] = wall
      cpuWindows[point] = cpu
    }
    const block = Math.floor((to - 1) / BLOCK)
    blocks[block] = (blocks[block] ?? 0) + wall
    from = to + 1
  }
  await engine.close()
  return { windows, cpuWindows, blocks, total: elapsed, ...(slowest ? { slowest } : {}) }
}

const prefillRun = async (spec: EngineSpec, window: number): Promise<Rep> => {
  const windows: number[] = []
  const cpuWindows: number[] = []
  for (const p of POINTS) {
    const start = now()
    const engine = await spec.make(p - window)
    log(`    prefilled ${int(p - window)} in ${seconds(now() - start)}`)
    const { wall, cpu } = await timeRange(engine, p - window + 1, p)
    windows.push(wall)
    cpuWindows.push(cpu)
    await engine.close()
    collectGarbage()
  }
  return { windows, cpuWindows, blocks: [], total: Number.NaN }
}

const warmUp = async (plan: Omit<AppendPlan, 'reps'>): Promise<void> => {
  if (plan.mode === 'prefill') {
    const engine = await plan.spec.make(0)
    await timeRange(engine, 1, 200)
    await engine.close()
  } else {
    await fullRun(plan.spec, 100, SMOKE ? 500 : 5_000)
  }
  collectGarbage()
}

/** One repetition, warm-up included; runs inside a fresh worker process (see `child.ts`). */
export const runRep = async (plan: Omit<AppendPlan, 'reps'>): Promise<Rep> => {
  await warmUp(plan)
  const rep =
    plan.mode === 'full'
      ? await fullRun(plan.spec, plan.window, TOTAL)
      : await prefillRun(plan.spec, plan.window)
  log(
    `  ${rep.windows.map((ms, k) => `${sig((ms / plan.window) * 1000)} µs/msg @${int(POINTS[k]!)}`).join(', ')}` +
      (Number.isFinite(rep.total) ? `, ${seconds(rep.total)} to ${int(TOTAL)}` : '') +
      (rep.slowest ? `, slowest ${sig(rep.slowest.ms)} ms at #${int(rep.slowest.at)}` : ''),
  )
  return rep
}

/**
 * Every repetition runs in its own process: the wasm engines (Loro, Automerge) never give memory
 * back, and a grown heap of one run would slow the next one's garbage collection.
 */
export const runAppend = async (plans: readonly AppendPlan[]): Promise<AppendResult[]> => {
  const results: AppendResult[] = []
  for (const plan of plans) {
    log(`append: ${plan.spec.name} (${plan.mode}, ${plan.reps} rep${plan.reps > 1 ? 's' : ''})`)
    const reps: Rep[] = []
    for (let r = 0; r < plan.reps; r++) {
      reps.push(
        await inChild<Rep>({ kind: 'append', engine: plan.spec.name, window: plan.window, mode: plan.mode }),
      )
    }
    results.push({ plan, reps })
  }
  return results
}

/** Median wall cost per message (µs) at each point, their ratio, and the same from CPU time. */
export const summarize = (result: AppendResult) => {
  const { window } = result.plan
  const cost = (pick: (r: Rep) => number[]) =>
    POINTS.map((_, k) => median(result.reps.map((r) => (pick(r)[k]! / window) * 1000)))
  const costs = cost((r) => r.windows)
  const cpuCosts = cost((r) => r.cpuWindows)
  return {
    costs,
    ratio: costs[1]! / costs[0]!,
    ratios: result.reps.map((r) => r.windows[1]! / r.windows[0]!),
    cpuRatio: cpuCosts[1]! / cpuCosts[0]!,
    cpuRatios: result.reps.map((r) => r.cpuWindows[1]! / r.cpuWindows[0]!),
    total: median(result.reps.map((r) => r.total)),
  }
}

const withSpread = (value: number, values: readonly number[]) =>
  values.length > 1
    ? `${ratio(value)} (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`
    : ratio(value)

/** The slowest single append over all reps, with its message number; '-' when not timed. */
const slowestOf = (result: AppendResult): string => {
  let worst: { rep: number; slowest: Slowest } | undefined
  result.reps.forEach((rep, k) => {
    if (rep.slowest && (!worst || rep.slowest.ms > worst.slowest.ms))
      worst = { rep: k + 1, slowest: rep.slowest }
  })
  return worst ? `${sig(worst.slowest.ms)} ms at #${int(worst.slowest.at)} (${worst.rep})` : '-'
}

export const appendTable = (results: readonly AppendResult[]): string => {
  const rows = results.map((result) => {
    const { plan } = result
    const { costs, ratio: r, ratios, cpuRatio, cpuRatios, total } = summarize(result)
    return [
      plan.spec.name,
      `${plan.reps}`,
      POINTS.map((p) => `${int(p - plan.window + 1)}–${int(p)}`).join(', '),
      int(1e6 / costs[0]!),
      int(1e6 / costs[1]!),
      sig(costs[0]!),
      sig(costs[1]!),
      withSpread(r, ratios),
      withSpread(cpuRatio, cpuRatios),
      plan.mode === 'full' ? seconds(total) : 'prefilled',
      slowestOf(result),
    ]
  })
  return markdownTable(
    [
      'engine',
      'reps',
      'timed messages',
      'msgs/s @10k',
      'msgs/s @100k',
      'µs/msg @10k',
      'µs/msg @100k',
      'cost ratio 100k/10k, wall (min–max)',
      'same, CPU time',
      'time to 100k',
      'slowest single append (rep)',
    ],
    rows,
  )
}

export const blocksTable = (results: readonly AppendResult[]): string => {
  const full = results.filter((r) => r.plan.mode === 'full')
  const count = TOTAL / BLOCK
  const headers = [
    'engine',
    ...Array.from({ length: count }, (_, b) => `${(b * BLOCK) / 1000}–${((b + 1) * BLOCK) / 1000}k`),
  ]
  const rows = full.map((result) => [
    result.plan.spec.name,
    ...Array.from({ length: count }, (_, b) => sig(median(result.reps.map((r) => r.blocks[b]!)))),
  ])
  return markdownTable(headers, rows)
}
