import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isTidingsError } from '@tidings/core'
import { postgresStorage } from '@tidings/storage-postgres'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { dropSchema, freshSchema, PG_URL, pgReachable } from './helpers.js'

const reachable = await pgReachable()
const CYCLES = Number(process.env.TIDINGS_PG_CRASH_CYCLES ?? 3)
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '../../..')

/** Runs the child until it printed `atLeast` indices, waits `delay` ms more, SIGKILLs it; returns them. */
const killCycle = (schema: string, first: number, atLeast: number, delay: number): Promise<number[]> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', join(here, 'crash-child.ts'), PG_URL, schema, String(first)],
      { cwd: root, env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') } },
    )
    let out = ''
    let err = ''
    let armed = false
    const guard = setTimeout(() => {
      err += `\n(no ${atLeast} writes within 30 s)`
      child.kill('SIGKILL')
    }, 30_000)
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
    child.on('exit', (_code, signal) => {
      clearTimeout(guard)
      if (signal !== 'SIGKILL' || !armed) reject(new Error(`child ended by ${signal}: ${err}`))
      // Only whole lines: a line cut by the kill was not acknowledged.
      else resolve(out.split('\n').slice(0, -1).map(Number))
    })
  })

/** Waits until `probe` is true, checking at each turn of a short timer (bounded by the test timeout). */
const until = async (probe: () => Promise<boolean>) => {
  while (!(await probe())) await new Promise((resolve) => setTimeout(resolve, 20))
}

describe.skipIf(!reachable)('postgresStorage under crashes', () => {
  it('a connection killed inside a write transaction leaves the old rows and none of the batch', async () => {
    const schema = freshSchema()
    const storage = postgresStorage({ url: PG_URL, schema, max: 3 })
    const blocker = new pg.Client({ connectionString: PG_URL })
    const admin = new pg.Client({ connectionString: PG_URL })
    try {
      await blocker.connect()
      await admin.connect()
      await storage.write({ updates: [{ doc: 'c/meta', update: new Uint8Array([1]) }], meta: { k: 'old' } })
      // Holds meta row `k`: the batch below appends its updates, then waits to set `k`, mid-transaction.
      await blocker.query('BEGIN')
      await blocker.query(`SELECT * FROM "${schema}".meta WHERE key = 'k' FOR UPDATE`)
      const write = storage.write({
        updates: [
          { doc: 'c/meta', update: new Uint8Array([2]) },
          { doc: 'c/normal/1', update: new Uint8Array([3]), messages: 1 },
        ],
        meta: { k: 'new' },
      })
      const outcome = write.then(
        () => undefined,
        (error: unknown) => error,
      )
      let pid: number | undefined
      await until(async () => {
        const { rows } = await admin.query(
          `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
          [`%"${schema}".meta%`],
        )
        pid = rows[0]?.pid
        return pid !== undefined
      })
      await admin.query('SELECT pg_terminate_backend($1)', [pid])
      const error = await outcome
      expect(isTidingsError(error, 'storage/unavailable'), String(error)).toBe(true)
      await blocker.query('COMMIT')
      expect((await storage.load('c/meta')).map((r) => [...r.update])).toEqual([[1]])
      expect(await storage.load('c/normal/1')).toEqual([])
      expect(await storage.listDocs('c')).toEqual([{ doc: 'c/meta', updates: 1, messages: 0, newest: 0 }])
      expect(await storage.getMeta('k')).toBe('old')
      // The pool replaced the killed connection: the next write commits.
      await storage.write({ updates: [{ doc: 'c/meta', update: new Uint8Array([4]) }] })
      expect((await storage.load('c/meta')).map((r) => [r.n, ...r.update])).toEqual([
        [1, 1],
        [2, 4],
      ])
    } finally {
      await blocker.end().catch(() => {})
      await admin.end().catch(() => {})
      await storage.close()
      await dropSchema(schema)
    }
  })

  it(`a process SIGKILLed while writing under withLock and compacting loses no acknowledged write and frees its locks (${CYCLES} kills)`, async () => {
    const schema = freshSchema()
    const storage = postgresStorage({ url: PG_URL, schema, max: 3 })
    try {
      const acknowledged: number[] = []
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const first = acknowledged.length === 0 ? 0 : Math.max(...acknowledged) + 1
        acknowledged.push(...(await killCycle(schema, first, 5 + cycle * 7, cycle * 3)))
        // The dead process's session locks went with its connections: this one gets the doc's lock.
        await storage.withLock(['crash/normal/1'], async () => undefined)
      }
      const rows = await storage.load('crash/normal/1')
      const doc = new Y.Doc()
      for (const row of rows) Y.applyUpdate(doc, row.update)
      const keys = new Set(doc.getMap('m').keys())
      const lost = acknowledged.filter((i) => !keys.has(`k${i}`))
      expect({ acknowledged: acknowledged.length > 0, lost }).toEqual({ acknowledged: true, lost: [] })
      const [info] = await storage.listDocs('crash')
      expect(info?.updates, 'the doc counts the rows it holds').toBe(rows.length)
      expect(doc.store.pendingStructs, 'no row depends on one that is missing').toBeNull()
    } finally {
      await storage.close()
      await dropSchema(schema)
    }
  }, 120_000)
})
