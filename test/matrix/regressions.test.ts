import { readFileSync } from 'node:fs'
import { arbitraries, type Schedule, type ScheduleNetworkOptions } from '@tidings/testing'
import { describe, it } from 'vitest'

/**
 * Every schedule the fault matrix found failing, kept so its bug stays fixed: fast-check's shrunk
 * counterexamples, from hunts on main and from running the matrix against main as it was before
 * the semantics fixes (ec8a50e). `bug` says what broke.
 */
const found = JSON.parse(readFileSync(new URL('./regressions.json', import.meta.url), 'utf8')) as {
  name: string
  bug: string
  plan: Schedule
  network?: ScheduleNetworkOptions
}[]

describe('fault matrix regressions', () => {
  for (const { name, bug, plan, network } of found) {
    it(`${bug} (${name})`, async () => {
      await arbitraries.runSchedule(plan, network)
    })
  }
})
