import { type PostgresStorage, postgresStorage } from '@tidings/storage-postgres'
import { afterEach, describe, expect, it } from 'vitest'
import { dropSchema, freshSchema, PG_URL, pgReachable } from './helpers.js'

// Figures for the README and the issue note, not assertions about speed:
// `TIDINGS_MEASURE=1 npx vitest run packages/storage-postgres/test/measure.test.ts`
const enabled = process.env.TIDINGS_MEASURE === '1' && (await pgReachable())
const WRITES = Number(process.env.TIDINGS_MEASURE_WRITES ?? 2000)

const opened: { storages: PostgresStorage[]; schema: string }[] = []
afterEach(async () => {
  for (const { storages, schema } of opened.splice(0)) {
    for (const s of storages) await s.close()
    await dropSchema(schema)
  }
})
const processes = async (count: number) => {
  const schema = freshSchema()
  const storages = Array.from({ length: count }, () => postgresStorage({ url: PG_URL, schema }))
  opened.push({ storages, schema })
  await Promise.all(storages.map((s) => s.ready()))
  return storages
}

/** A send-sized batch: a 180-byte update and a binding, as the server writes for one message. */
const batch = (i: number, doc = `room/normal/${i % 4}`) => ({
  updates: [{ doc, update: new Uint8Array(180).fill(i & 0xff), messages: 1, newest: 1_767_225_600_000 + i }],
  meta: { [`binding:room:${i}`]: 'alice' },
})

/** Runs `total` calls of `call`, `concurrency` at a time; resolves with calls per second. */
const rate = async (total: number, concurrency: number, call: (i: number) => Promise<unknown>) => {
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await call(next++)
    }),
  )
  return Math.round(total / ((performance.now() - started) / 1000))
}

describe.runIf(enabled)('measurements', () => {
  it('write(): send-sized batches per second, and transactions per write (group commit)', async () => {
    const rows: Record<string, { perSecond: number; writesPerTransaction: string }> = {}
    for (const concurrency of [1, 20, WRITES]) {
      const [storage] = await processes(1)
      const perSecond = await rate(WRITES, concurrency, (i) => storage!.write(batch(i)))
      rows[concurrency === WRITES ? 'all at once' : `${concurrency} concurrent`] = {
        perSecond,
        writesPerTransaction: (WRITES / storage!.transactions).toFixed(1),
      }
    }
    console.table(rows)
    expect(Object.keys(rows)).toHaveLength(3)
  }, 120_000)

  it('claimMeta, and a server-like round (withLock, loadAfter, write) by 3 processes on one doc or on 3', async () => {
    const [a] = await processes(1)
    const claims = await rate(WRITES / 4, 1, (i) => a!.claimMeta({ [`device:d${i}`]: 'alice' }))
    const round = (s: PostgresStorage, doc: string, i: number, known: Map<string, number>) =>
      s.withLock([doc], async () => {
        const rows = await s.loadAfter(doc, known.get(doc) ?? 0)
        if (rows.length > 0) known.set(doc, rows[rows.length - 1]!.n)
        await s.write(batch(i, doc))
      })
    const result: Record<string, number> = { 'claimMeta one at a time /s': claims }
    for (const shared of [true, false]) {
      const storages = await processes(3)
      const known = storages.map(() => new Map<string, number>())
      result[`rounds /s, 3 processes, ${shared ? 'one doc' : 'a doc each'}`] = await rate(
        WRITES / 4,
        3,
        (i) => round(storages[i % 3]!, shared ? 'room/normal/0' : `room/normal/${i % 3}`, i, known[i % 3]!),
      )
    }
    console.table(result)
    expect(Object.keys(result)).toHaveLength(3)
  }, 120_000)
})
