import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { afterAll, describe, expect, it } from 'vitest'
import { ROW_TIMEOUT, row, seedCount } from './report.js'
import { runSchedules } from './schedules.js'

const HOUR = 3_600_000

describe('fault matrix: random schedules on the simulated network', () => {
  it(
    'random schedules, 5 devices of 3 users, all operations',
    async () => {
      const runs = seedCount(60)
      const t = await runSchedules({ runs, schedule: { devices: { min: 5, max: 5 }, users: 3 } })
      row(
        'random schedules, 5 devices of 3 users, all operations',
        `converged ${t.schedules}/${runs} seeds × ${t.operations} ops; acknowledged ${t.acknowledged}, lost ${t.lost}`,
      )
      expect(t.schedules).toBe(runs)
    },
    ROW_TIMEOUT,
  )

  it(
    'loss 5 %, duplication 5 %, reorder window 8, latency 0–200 ms',
    async () => {
      const runs = seedCount(30)
      const t = await runSchedules({
        runs,
        seed: 2,
        schedule: { weights: { link: 0 } },
        network: { link: { latencyMs: [0, 200], loss: 0.05, duplicate: 0.05, reorder: 8 } },
      })
      row(
        'loss 5 %, duplication 5 %, reorder window 8, latency 0–200 ms',
        `converged ${t.schedules}/${runs} seeds; visible duplicates ${t.duplicates}`,
      )
      expect(t.duplicates).toBe(0)
    },
    ROW_TIMEOUT,
  )

  it(
    'one-way and two-way partitions, healed',
    async () => {
      const runs = seedCount(30)
      const t = await runSchedules({
        runs,
        seed: 3,
        schedule: { weights: { partition: 4, heal: 2, settle: 2 } },
      })
      row(
        'one-way and two-way partitions, healed',
        `converged ${t.schedules}/${runs} seeds; acknowledged lost ${t.lost} of ${t.acknowledged}`,
      )
      expect(t.lost).toBe(0)
    },
    ROW_TIMEOUT,
  )

  const folder = mkdtempSync(join(tmpdir(), 'tidings-matrix-'))
  afterAll(() => rmSync(folder, { recursive: true, force: true }))
  let files = 0

  it(
    'crash and restart of devices from storage (memory and SQLite)',
    async () => {
      const runs = seedCount(20)
      const weights = { crash: 5, settle: 2 }
      const memory = await runSchedules({ runs, seed: 4, schedule: { weights } })
      const sqlite = await runSchedules({
        runs: Math.max(1, Math.floor(runs / 2)),
        seed: 5,
        schedule: { weights, devices: { min: 2, max: 3 } },
        network: {
          device: () => {
            const path = join(folder, `device-${files++}.db`)
            return { storage: () => sqliteStorage({ path }) }
          },
        },
      })
      row(
        'crash and restart of devices from storage (memory and SQLite)',
        `acknowledged lost ${memory.lost + sqlite.lost} of ${memory.acknowledged + sqlite.acknowledged} ` +
          `(${memory.schedules} memory, ${sqlite.schedules} SQLite schedules)`,
      )
      expect(memory.lost + sqlite.lost).toBe(0)
    },
    ROW_TIMEOUT,
  )

  it(
    'clock skew ±24 h, backward jumps, short periods (1 h) across boundaries',
    async () => {
      const runs = seedCount(40)
      const t = await runSchedules({
        runs,
        seed: 6,
        schedule: { periodMs: [HOUR], weights: { jump: 4, advance: 6, markRead: 4 } },
      })
      row(
        'clock skew ±24 h, backward jumps, short periods (1 h) across boundaries',
        `order identical ${t.schedules}/${runs}; read regressions ${t.readRegressions}, hidden messages ${t.hidden}, order violations ${t.orderViolations}, unread mismatches ${t.unreadMismatches}`,
      )
      expect(t.readRegressions + t.hidden + t.orderViolations + t.unreadMismatches).toBe(0)
    },
    ROW_TIMEOUT,
  )
})
