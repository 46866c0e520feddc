import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient, parseMessageId, type TidingsError } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'

// `TIDINGS_CRASH_CYCLES=500 npx vitest run packages/storage-sqlite/test/crash.test.ts` is the long run.
const CYCLES = Number(process.env.TIDINGS_CRASH_CYCLES ?? 50)
const SEED = Number(process.env.TIDINGS_CRASH_SEED ?? 20_260_105)
// Independent files killed side by side: the child's start-up (tsx) dominates a cycle.
const WORKERS = Math.min(
  CYCLES,
  Number(process.env.TIDINGS_CRASH_WORKERS ?? Math.min(4, availableParallelism())),
)
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '../../..')

/** mulberry32: small, seeded, reproducible. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

interface Tally {
  acknowledged: number
  lost: number
  corrupt: number
  /** Stored though the child died before it could print them: allowed, and counted for the report. */
  unacknowledged: number
}

/** Runs the child until it printed `atLeast` ids, waits `delay` ms more, SIGKILLs it; returns the printed ids. */
const killCycle = (path: string, atLeast: number, delay: number): Promise<string[]> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', join(here, 'crash-child.ts'), path],
      { cwd: root, env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') } },
    )
    let out = ''
    let err = ''
    let armed = false
    const guard = setTimeout(() => {
      err += `\n(no ${atLeast} ids within 20 s)`
      child.kill('SIGKILL')
    }, 20_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (armed || out.split('\n').length - 1 < atLeast) return
      armed = true
      clearTimeout(guard)
      setTimeout(() => child.kill('SIGKILL'), delay)
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString()
    })
    child.on('error', reject)
    // 'close', not 'exit': it comes after the last stdout chunk, so no printed id is missed.
    child.on('close', (_code, signal) => {
      clearTimeout(guard)
      if (signal !== 'SIGKILL' || !armed) reject(new Error(`the child failed (${signal}): ${err}`))
      // Only whole lines count: a line cut by the kill was never fully printed.
      else resolve(out.split('\n').slice(0, -1))
    })
  })

/** Opens the killed file as a user would and checks it against everything the child printed. */
const verify = async (path: string, printed: string[], previous: { maxSeq: number }, tally: Tally) => {
  const raw = new Database(path)
  const check = raw.pragma('integrity_check', { simple: true })
  raw.close()
  if (check !== 'ok') tally.corrupt++
  expect(check, 'PRAGMA integrity_check').toBe('ok')

  const errors: TidingsError[] = []
  const client = createClient({ user: 'crash', storage: sqliteStorage({ path }) })
  client.on('error', (e) => errors.push(e))
  try {
    const convo = await client.open('crash-room')
    while (await convo.loadOlder()) {}
    tally.corrupt += errors.length
    expect(errors, 'errors while loading').toEqual([])
    const ids = convo.messages().map((m) => m.id)
    const count = new Map<string, number>()
    for (const id of ids) count.set(id, (count.get(id) ?? 0) + 1)
    for (const id of printed) {
      const n = count.get(id) ?? 0
      if (n === 0) tally.lost++
      expect(n, `acknowledged ${id} present once`).toBe(1)
    }
    tally.acknowledged += printed.length

    // Seqs of this device: dense from 1 in storage, and never handed out twice across cycles.
    const device = client.device!
    const seqs = ids
      .map((id) => parseMessageId(id))
      .filter((p) => p?.device === device)
      .map((p) => p!.seq)
      .sort((a, b) => a - b)
    expect(seqs, 'seqs dense from 1').toEqual(seqs.map((_, i) => i + 1))
    const printedSeqs = printed.map((id) => parseMessageId(id)!.seq)
    expect(printedSeqs[0], 'first seq of a cycle follows the last one stored').toBeGreaterThan(
      previous.maxSeq,
    )
    for (let i = 1; i < printedSeqs.length; i++) expect(printedSeqs[i]).toBe(printedSeqs[i - 1]! + 1)
    tally.unacknowledged += seqs.filter((s) => s > previous.maxSeq).length - printed.length
    previous.maxSeq = seqs.at(-1) ?? 0
  } finally {
    await client.close()
  }
}

describe('crash safety', () => {
  it(
    `keeps every acknowledged message through ${CYCLES} SIGKILLs (seed ${SEED})`,
    async () => {
      const random = prng(SEED)
      const dir = mkdtempSync(join(tmpdir(), 'tidings-sqlite-crash-'))
      const tally: Tally = { acknowledged: 0, lost: 0, corrupt: 0, unacknowledged: 0 }
      const started = performance.now()
      try {
        const plans = Array.from({ length: CYCLES }, () => ({
          atLeast: 3 + Math.floor(random() * 5),
          delay: 5 + Math.floor(random() * 76),
        }))
        await Promise.all(
          Array.from({ length: WORKERS }, async (_, worker) => {
            const path = join(dir, `crash-${worker}.db`)
            const previous = { maxSeq: 0 }
            for (let cycle = worker; cycle < CYCLES; cycle += WORKERS) {
              const { atLeast, delay } = plans[cycle]!
              const printed = await killCycle(path, atLeast, delay)
              await verify(path, printed, previous, tally)
            }
          }),
        )
      } catch (error) {
        throw new Error(`crash test failed; replay with TIDINGS_CRASH_SEED=${SEED}`, { cause: error })
      } finally {
        rmSync(dir, { recursive: true, force: true })
        const seconds = ((performance.now() - started) / 1000).toFixed(1)
        console.log(
          `crash test: ${CYCLES} SIGKILL cycles in ${seconds} s, seed ${SEED}: acknowledged ${tally.acknowledged}, lost ${tally.lost}, corrupt ${tally.corrupt}, stored but unacknowledged ${tally.unacknowledged}`,
        )
      }
      expect(tally.lost).toBe(0)
      expect(tally.corrupt).toBe(0)
    },
    Math.max(60_000, CYCLES * 4_000),
  )
})
