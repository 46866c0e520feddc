import { join } from 'node:path'
import { createClient } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { describe, expect, it } from 'vitest'
import { tempDir } from './sqlite-file.js'

// The lazy outbox (issue 12): a client reopens offline with a backlog spread over many period docs
// and reads only the docs it loads. Asked, pending() must end up listing every unsent message once;
// statuses of older messages loaded later must say `pending`; closing before the outbox was read
// whole must lose nothing; and a send right after reopening must not reuse an unread entry's key.
const ROOM = 'lazy-room'
const PERIOD = 1000

const writeBacklog = async (path: string, periods: number, perPeriod: number) => {
  let now = Date.now() - 3_600_000
  const client = createClient({
    user: 'ann',
    storage: sqliteStorage({ path }),
    periodMs: PERIOD,
    clock: { now: () => now },
  })
  const convo = await client.open(ROOM)
  const ids: string[] = []
  for (let p = 0; p < periods; p++) {
    for (let i = 0; i < perPeriod; i++)
      ids.push((await convo.send({ text: `p${p} m${i}` }, { priority: i % 5 === 0 ? 'low' : 'normal' })).id)
    now += PERIOD
  }
  await client.close()
  return ids
}

const reopen = (path: string) =>
  createClient({ user: 'ann', storage: sqliteStorage({ path }), periodMs: PERIOD })

describe('reopening offline with a backlog over many period docs', () => {
  it('pending() completes to every message once; older ones load as pending', async () => {
    const path = join(tempDir(), 'lazy.db')
    const all = await writeBacklog(path, 30, 20)
    const client = reopen(path)
    const convo = await client.open(ROOM)
    const first = convo.pending().map((m) => m.id)
    expect(new Set(first).size).toBe(first.length)
    await new Promise<void>((resolve) => {
      if (convo.pending().length === all.length) return resolve()
      const stop = convo.subscribe(() => {
        if (convo.pending().length === all.length) {
          stop()
          resolve()
        }
      })
    })
    const listed = convo.pending().map((m) => m.id)
    expect(new Set(listed)).toEqual(new Set(all))
    expect(listed).toHaveLength(all.length)
    while (await convo.loadOlder()) {}
    expect(all.filter((id) => convo.status(id) !== 'pending')).toEqual([])
    await client.close()
  })

  it('a close before the outbox was read whole, then new sends, lose nothing', async () => {
    const path = join(tempDir(), 'lazy2.db')
    const all = await writeBacklog(path, 30, 20)
    const first = reopen(path)
    const c1 = await first.open(ROOM)
    all.push((await c1.send({ text: 'right after reopening' })).id)
    await first.close()
    const second = reopen(path)
    const c2 = await second.open(ROOM)
    all.push((await c2.send({ text: 'after the second reopen' }, { priority: 'urgent' })).id)
    while (await c2.loadOlder()) {}
    const shown = new Set(c2.messages().map((m): string => m.id))
    expect(all.filter((id) => !shown.has(id))).toEqual([])
    await new Promise<void>((resolve) => {
      const check = () => c2.pending().length >= all.length
      if (check()) return resolve()
      const stop = c2.subscribe(() => {
        if (check()) {
          stop()
          resolve()
        }
      })
    })
    expect(new Set(c2.pending().map((m) => m.id))).toEqual(new Set(all))
    expect(c2.pending()).toHaveLength(all.length)
    await second.close()
  })
})
