import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { arbitraries } from '../src/index.js'

const RUNS = Number(process.env.TIDINGS_PROPERTY_RUNS ?? 30)

describe('arbitraries', () => {
  it(`random schedules converge with every invariant (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(arbitraries.schedule(), async (plan) => {
        const figures = await arbitraries.runSchedule(plan)
        expect(figures.lost).toBe(0)
      }),
      { numRuns: RUNS, seed: Number(process.env.FC_SEED ?? 1) },
    )
  }, 600_000)

  it('runs as a fast-check model run', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraries.schedule({ maxOperations: 1 }),
        arbitraries.commands(),
        async (plan, cmds) => {
          const net = await arbitraries.network(plan)
          try {
            const figures = await arbitraries.modelRun(net, cmds)
            expect(figures.duplicates).toBe(0)
          } finally {
            await net.close()
          }
        },
      ),
      { numRuns: 10, seed: 1 },
    )
  }, 600_000)
})
