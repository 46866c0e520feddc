import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { PARTS } from '../../bench/parts.js'
import { type Row, row } from '../../bench/rows.js'
import { type Latest, mergeLatest, type PartRecord } from '../../bench/run.js'

// The bench is not a timed test: this runs every part at its smoke sizes so it cannot rot, and
// checks the shape of what it reports. No figure is asserted.
const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'tidings-bench-smoke-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('bench smoke run', () => {
  it('runs every part at tiny sizes and reports rows with computed verdicts', async () => {
    const out = join(dir, 'latest.json')
    await run('npx', ['tsx', '--expose-gc', 'bench/index.ts'], {
      env: { ...process.env, BENCH_SMOKE: '1', BENCH_OUT: out },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 240_000,
    })
    const latest = JSON.parse(readFileSync(out, 'utf8')) as Latest
    expect(latest.parts.map((p) => p.part)).toEqual(PARTS.map((p) => p.name))
    expect(latest.results.length).toBeGreaterThanOrEqual(PARTS.length)
    for (const r of latest.results) {
      expect(typeof r.scenario).toBe('string')
      expect(typeof r.value).toBe('number')
      // The verdict is the row's own computation from its figure, never typed in.
      if (r.goalMet !== null) expect(typeof r.goalMet).toBe('boolean')
      if (r.goal === '') expect(r.goalMet).toBeNull()
    }
  }, 300_000)
})

describe('rows and merging', () => {
  it('computes goalMet from the bound on the ratio when there is one, else on the value', () => {
    expect(
      row({ scenario: 's', metric: 'm', unit: 'ms', value: 40, goal: '≤ 50 ms', bound: { atMost: 50 } })
        .goalMet,
    ).toBe(true)
    expect(
      row({ scenario: 's', metric: 'm', unit: 'ms', value: 60, goal: '≤ 50 ms', bound: { atMost: 50 } })
        .goalMet,
    ).toBe(false)
    const relative = row({
      scenario: 's',
      metric: 'm',
      unit: 'msg/s',
      value: 10,
      ratio: 0.5,
      goal: '≥ 0.6×',
      bound: { atLeast: 0.6 },
    })
    expect(relative.goalMet).toBe(false)
    expect(
      row({ scenario: 's', metric: 'm', unit: 'B', value: Number.NaN, bound: { atMost: 1 } }).goalMet,
    ).toBe(false)
    expect(row({ scenario: 's', metric: 'm', unit: 'B', value: 3 }).goalMet).toBeNull()
  })

  it('keeps the last record of each part and replaces the parts run again', () => {
    const record = (part: string, date: string, value: number): PartRecord => ({
      part,
      date,
      durationMs: 1,
      machine: [date],
      title: part,
      body: '',
      rows: [row({ scenario: part, metric: 'm', unit: 'x', value }) as Row],
    })
    const [a, b] = PARTS.map((p) => p.name)
    const first = mergeLatest(undefined, [record(a!, '2026-01-01', 1), record(b!, '2026-01-01', 2)])
    const second: Latest = mergeLatest(first, [record(b!, '2026-02-01', 3)])
    expect(second.parts.map((p) => p.part)).toEqual([a, b])
    expect(second.results.map((r) => r.value)).toEqual([1, 3])
    expect(second.date).toBe('2026-02-01')
  })
})
