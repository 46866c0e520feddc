import {
  arbitraries,
  type Figures,
  type ScheduleNetworkOptions,
  type ScheduleOptions,
} from '@tidings/testing'
import fc from 'fast-check'

/** Figures summed over every schedule a row ran. */
export type Totals = { -readonly [K in keyof Figures]: number } & { schedules: number; operations: number }

/**
 * Runs `runs` random schedules (fast-check seed `seed`, so a row replays exactly) and sums their
 * figures. A failing schedule fails the row with fast-check's shrunk counterexample, its seed and
 * path, and the invariant's own message.
 */
export const runSchedules = async (options: {
  runs: number
  seed?: number
  schedule?: ScheduleOptions
  network?: ScheduleNetworkOptions
}): Promise<Totals> => {
  // Every figure starts at 0 when the first schedule adds its own: no list to keep in step here.
  const totals = { schedules: 0, operations: 0 } as Totals
  const property = fc.asyncProperty(arbitraries.schedule(options.schedule), async (plan) => {
    const figures = await arbitraries.runSchedule(plan, options.network)
    totals.schedules++
    totals.operations += plan.operations.length
    for (const [name, value] of Object.entries(figures)) {
      totals[name as keyof Figures] = (totals[name as keyof Figures] ?? 0) + value
    }
  })
  const seed = Number(process.env.FC_SEED ?? options.seed ?? 1)
  const result = await fc.check(property, {
    numRuns: options.runs,
    seed,
    ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
  })
  if (result.failed) {
    const error = result.errorInstance as Error | undefined
    throw new Error(
      `A schedule failed (fast-check seed ${seed}, path ${result.counterexamplePath}; replay with ` +
        `FC_SEED=${seed} FC_PATH=${result.counterexamplePath}):\n${error?.message ?? error}\n` +
        `counterexample: ${JSON.stringify(result.counterexample)}`,
    )
  }
  return totals
}
