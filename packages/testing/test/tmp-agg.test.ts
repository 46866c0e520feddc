import fc from 'fast-check'
import { it } from 'vitest'
import { arbitraries } from '../src/index.js'

it('agg', async () => {
  const total: Record<string, number> = {}
  let runs = 0
  await fc.assert(
    fc.asyncProperty(arbitraries.schedule(), async (plan) => {
      const f = await arbitraries.runSchedule(plan)
      runs++
      for (const [k, v] of Object.entries(f)) total[k] = (total[k] ?? 0) + v
    }),
    { numRuns: Number(process.env.N ?? 300), seed: Number(process.env.FC_SEED ?? 1) },
  )
  console.log(runs, total)
}, 1_800_000)
