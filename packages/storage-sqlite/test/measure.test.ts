import { createClient } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { chatText } from '@tidings/testing'
import { describe, expect, it } from 'vitest'
import { useTempDir } from './helpers.js'

// Figures for the README and the issue note, not assertions about speed:
// `TIDINGS_MEASURE=1 npx vitest run packages/storage-sqlite/test/measure.test.ts`
const enabled = process.env.TIDINGS_MEASURE === '1'
const tempPath = useTempDir()

const ms = (start: number) => `${(performance.now() - start).toFixed(0)} ms`

describe.runIf(enabled)('measurements', () => {
  it('snapshot compression on 10k chat messages in one lane doc', async () => {
    const path = tempPath()
    let now = Date.UTC(2026, 0, 5)
    const storage = sqliteStorage({ path, durability: 'normal', compressAbove: false })
    const client = createClient({ user: 'ann', storage, clock: { now: () => now } })
    const convo = await client.open('room')
    const text = chatText(7)
    for (let i = 0; i < 10_000; i++) {
      now += 20_000
      await convo.send({ text: text() })
    }
    await client.close()

    const store = sqliteStorage({ path, compressAbove: false })
    const [lane] = (await store.listDocs('room')).filter((d) => d.doc.includes('/normal/'))
    const rows = await store.load(lane!.doc)
    const rowBytes = rows.reduce((sum, r) => sum + r.update.length, 0)
    let start = performance.now()
    await store.compact(lane!.doc)
    const rawCompact = ms(start)
    const raw = store.database
      .prepare('SELECT size FROM updates WHERE doc = ?')
      .pluck()
      .get(lane!.doc) as number
    await store.close()

    const packed = sqliteStorage({ path })
    await packed.write({ updates: rows.map((r) => ({ doc: 'room/normal/copy', update: r.update })) })
    start = performance.now()
    await packed.compact('room/normal/copy')
    const packedCompact = ms(start)
    const row = packed.database
      .prepare('SELECT size, codec FROM updates WHERE doc = ?')
      .get('room/normal/copy') as {
      size: number
      codec: number
    }
    start = performance.now()
    const [loaded] = await packed.load('room/normal/copy')
    const load = ms(start)
    await packed.close()
    expect(row.codec).toBe(1)
    expect(loaded!.update.length).toBe(raw)
    console.log(
      `10k messages in ${lane!.doc}: ${rows.length} rows, ${rowBytes} bytes; merged ${raw} bytes (compact ${rawCompact}); ` +
        `deflated ${row.size} bytes = ${((100 * row.size) / raw).toFixed(1)}% (compact ${packedCompact}, load+inflate ${load})`,
    )
  }, 300_000)

  it('group commit and durability: 2,000 send-sized batches', async () => {
    const batch = (i: number) => ({
      updates: [{ doc: 'room/normal/1', update: new Uint8Array(180).fill(i % 251), messages: 1, newest: i }],
      outbox: [
        {
          key: `d:${i}`,
          doc: 'room/normal/1',
          lane: 'normal' as const,
          update: new Uint8Array(180),
          messages: [`d.${i}`],
        },
      ],
      meta: { seq: String(i), clock: `{"wall":${i},"counter":0}` },
    })
    const N = 2_000
    for (const durability of ['full', 'normal'] as const) {
      const sequential = sqliteStorage({ path: tempPath(), durability })
      let start = performance.now()
      for (let i = 0; i < N; i++) await sequential.write(batch(i))
      const one = performance.now() - start
      await sequential.close()

      const grouped = sqliteStorage({ path: tempPath(), durability })
      start = performance.now()
      await Promise.all(Array.from({ length: N }, (_, i) => grouped.write(batch(i))))
      const all = performance.now() - start
      await grouped.close()

      // 20 writers, each awaiting its own writes, as 20 connections of a server would.
      const writers = sqliteStorage({ path: tempPath(), durability })
      start = performance.now()
      await Promise.all(
        Array.from({ length: 20 }, async (_, w) => {
          for (let i = 0; i < N / 20; i++) await writers.write(batch(w * 1000 + i))
        }),
      )
      const twenty = performance.now() - start
      await writers.close()
      const rate = (t: number) => `${Math.round((N * 1000) / t)}/s`
      console.log(
        `durability ${durability}: one at a time ${one.toFixed(0)} ms (${rate(one)}); ` +
          `all at once, grouped ${all.toFixed(0)} ms (${rate(all)}); 20 writers ${twenty.toFixed(0)} ms (${rate(twenty)})`,
      )
    }
  }, 300_000)
})
