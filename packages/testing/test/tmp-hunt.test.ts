import fc from 'fast-check'
import { it } from 'vitest'
import { arbitraries } from '../src/index.js'
it('hunt', async () => {
  const from = Number(process.env.FROM ?? 1), to = Number(process.env.TO ?? 20)
  for (let seed = from; seed <= to; seed++) {
    const out = await fc.check(fc.asyncProperty(arbitraries.schedule(), async (plan) => { await arbitraries.runSchedule(plan) }), { numRuns: Number(process.env.N ?? 100), seed })
    if (out.failed) {
      const msg = String((out.errorInstance as Error)?.message ?? out.errorInstance).split('\n').slice(0, 3).join(' / ')
      console.log(`FAIL fcseed=${seed} path=${out.counterexamplePath} :: ${msg} :: ${JSON.stringify(out.counterexample)}`)
    } else console.log(`ok fcseed=${seed}`)
  }
}, 3_600_000)
