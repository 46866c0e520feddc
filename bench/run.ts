import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { dirname } from 'node:path'
import { describeMachine } from './machine.js'
import { PARTS } from './parts.js'
import type { Report } from './results.js'
import type { PartRecord, Row, RunOptions } from './rows.js'

export type { PartRecord } from './rows.js'

import { log, now } from './workload.js'

/** `bench/results/latest.json`: every row of the last run of each part, newest run merged in. */
export interface Latest {
  readonly machine: readonly string[]
  readonly date: string
  readonly results: readonly Row[]
  readonly parts: readonly PartRecord[]
}

export interface RunPlan extends RunOptions {
  /** Names of the parts to run; all when empty. */
  readonly only: readonly string[]
}

/** Runs the planned parts one after the other and returns what each measured. */
export const runParts = async (plan: RunPlan): Promise<PartRecord[]> => {
  const unknown = plan.only.filter((name) => !PARTS.some((p) => p.name === name))
  if (unknown.length > 0) {
    throw new Error(
      `Unknown bench part ${unknown.join(', ')}; the parts are ${PARTS.map((p) => p.name).join(', ')}.`,
    )
  }
  const records: PartRecord[] = []
  for (const part of PARTS) {
    if (plan.only.length > 0 && !plan.only.includes(part.name)) continue
    log(`\n# ${part.name}${plan.smoke ? ' (smoke)' : ''}`)
    const load = loadavg()
    const started = new Date()
    const start = now()
    const section = await part.run({ smoke: plan.smoke })
    const machine = [
      ...describeMachine(),
      `load average (1 / 5 / 15 min) at start ${fmtLoad(load)}, at end ${fmtLoad(loadavg())}`,
    ]
    records.push({
      part: part.name,
      date: started.toISOString(),
      durationMs: now() - start,
      machine,
      title: section.title,
      body: section.body,
      rows: section.rows,
    })
  }
  return records
}

const fmtLoad = (l: readonly number[]) => l.map((x) => x.toFixed(2)).join(' / ')

/** Merges a run's parts into the last results: a part run now replaces its previous record. */
export const mergeLatest = (previous: Latest | undefined, records: readonly PartRecord[]): Latest => {
  const byName = new Map((previous?.parts ?? []).map((p) => [p.part, p]))
  for (const record of records) byName.set(record.part, record)
  const parts = PARTS.flatMap((p) => byName.get(p.name) ?? [])
  const newest = parts.reduce((a, b) => (a.date > b.date ? a : b))
  return {
    machine: newest.machine,
    date: newest.date,
    results: parts.flatMap((p) => p.rows),
    parts,
  }
}

export const readLatest = (path: string): Latest | undefined =>
  existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Latest) : undefined

export const writeLatest = (path: string, latest: Latest): void => {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(latest, null, 2)}\n`)
}

/** RESULTS.md from latest.json: each part's section with the date and machine of its run. */
export const reportOf = (latest: Latest): Report => ({
  date: latest.date,
  command: 'npm run bench',
  machine: latest.machine,
  parts: latest.parts,
})
