import { inChild } from './child.js'
import type { Engine, EngineSpec } from './engines.js'
import { int, seconds, sig } from './table.js'
import { collectGarbage, log, median, now } from './workload.js'

/** The smoke run of `npm test` (BENCH_SMOKE=1, inherited by worker processes) shrinks every size. */
const SMOKE = process.env.BENCH_SMOKE === '1'
/** The points of the log whose marginal costs are compared: 10k, 100k, 1M. */
export const POINTS: readonly number[] = SMOKE ? [1_000, 2_000, 4_000] : [10_000, 100_000, 1_000_000]
/** Ends of the blocks timed as a whole: tenths up to the second point, then tenths of the rest. */
export const BLOCK_ENDS: readonly number[] = [
  ...Array.from({ length: 10 }, (_, b) => ((b + 1) * POINTS[1]!) / 10),
  ...Array.from({ length: 9 }, (_, b) => POINTS[1]! + ((b + 1) * (POINTS[2]! - POINTS[1]!)) / 9),
]

/** The last point an engine reaches: 1 for the second point (100k), 2 for the third (1M). */
export const reachOf = (spec: EngineSpec): number => spec.reach ?? 1

export interface AppendPlan {
  readonly spec: EngineSpec
  readonly reps: number
  /** Messages timed just before each point: the window of 10k is messages 10k - window + 1 … 10k. */
  readonly window: number
  /** `full` appends every message one by one; `prefill` builds the log up to the window in bulk. */
  readonly mode: 'full' | 'prefill'
}

export interface Slowest {
  ms: number
  at: number
}

export interface Rep {
  /** Wall ms spent in each window, one per point reached. */
  readonly windows: number[]
  /** Process CPU ms (user + system) in each window: robust when other processes share the cores. */
  readonly cpuWindows: number[]
  /** Wall ms per block of BLOCK_ENDS (full mode only). */
  readonly blocks: number[]
  readonly total: number
  /** The slowest single append of the run and its message number, where the engine asks for it. */
  readonly slowest?: Slowest
}

export interface AppendResult {
  readonly plan: AppendPlan
  readonly reps: readonly Rep[]
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
  for (let i = from; i <= to; i++) {
    const before = slowest ? now() : 0
    const pending = engine.append(i)
    if (pending instanceof Promise) await pending
    if (slowest) {
      const took = now() - before
      if (took > slowest.ms) {
        slowest.ms = took
        slowest.at = i
      }
    }
  }
  const wall = now() - start
  const used = process.cpuUsage(cpu)
  return { wall, cpu: (used.user + used.system) / 1000 }
}

const fullRun = async (spec: EngineSpec, window: number, reach: number): Promise<Rep> => {
  const total = POINTS[reach]!
  const points = POINTS.slice(0, reach + 1)
  const engine = await spec.make(0)
  const ends = new Set<number>(BLOCK_ENDS.filter((end) => end <= total))
  for (const p of points) ends.add(p - window)
  const windows = points.map(() => Number.NaN)
  const cpuWindows = points.map(() => Number.NaN)
  const blocks: number[] = []
  const slowest = spec.timeEach ? { ms: 0, at: 0 } : undefined
  let from = 1
  let elapsed = 0
  for (const to of [...ends].sort((a, b) => a - b)) {
    const { wall, cpu } = await timeRange(engine, from, to, slowest)
    elapsed += wall
    const point = points.indexOf(to)
    if (point >= 0 && from === to - window + 1) {
      windows[point] = wall
      cpuWindows[point] = cpu
    }
    const block = BLOCK_ENDS.findIndex((end) => to <= end)
    blocks[block] = (blocks[block] ?? 0) + wall
    from = to + 1
  }
  await engine.close()
  return { windows, cpuWindows, blocks, total: elapsed, ...(slowest ? { slowest } : {}) }
}

const prefillRun = async (spec: EngineSpec, window: number, reach: number): Promise<Rep> => {
  const windows: number[] = []
  const cpuWindows: number[] = []
  for (const p of POINTS.slice(0, reach + 1)) {
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
  const engine = await plan.spec.make(0)
  await timeRange(engine, 1, plan.mode === 'prefill' ? 200 : SMOKE ? 500 : 5_000)
  await engine.close()
  collectGarbage()
}

/** One repetition, warm-up included; runs inside a fresh worker process (see `child.ts`). */
export const runRep = async (plan: Omit<AppendPlan, 'reps'>): Promise<Rep> => {
  await warmUp(plan)
  const reach = reachOf(plan.spec)
  const rep =
    plan.mode === 'full'
      ? await fullRun(plan.spec, plan.window, reach)
      : await prefillRun(plan.spec, plan.window, reach)
  log(
    `  ${rep.windows.map((ms, k) => `${sig((ms / plan.window) * 1000)} µs/msg @${int(POINTS[k]!)}`).join(', ')}` +
      (Number.isFinite(rep.total) ? `, ${seconds(rep.total)} to ${int(POINTS[reach]!)}` : '') +
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

/** Median µs per message at each point reached, and the cost ratio of each point to the one before. */
export const summarize = (result: AppendResult) => {
  const { window } = result.plan
  const reached = result.reps[0]?.windows.length ?? 0
  const cost = (pick: (r: Rep) => number[]) =>
    Array.from({ length: reached }, (_, k) => median(result.reps.map((r) => (pick(r)[k]! / window) * 1000)))
  const costs = cost((r) => r.windows)
  const cpuCosts = cost((r) => r.cpuWindows)
  /** Ratio of point k to point k - 1, per rep: k = 1 is 100k/10k, k = 2 is 1M/100k. */
  const slopes = (k: number, pick: (r: Rep) => number[]) =>
    result.reps.map((r) => pick(r)[k]! / pick(r)[k - 1]!)
  const slope = (k: number) => ({
    ratio: costs[k]! / costs[k - 1]!,
    ratios: slopes(k, (r) => r.windows),
    cpuRatio: cpuCosts[k]! / cpuCosts[k - 1]!,
    cpuRatios: slopes(k, (r) => r.cpuWindows),
  })
  return {
    costs,
    cpuCosts,
    slopes: Array.from({ length: Math.max(0, reached - 1) }, (_, k) => slope(k + 1)),
    total: median(result.reps.map((r) => r.total)),
  }
}
