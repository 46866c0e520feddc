import { createClient, type TidingsError } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import { sqliteStorage } from '../src/index.js'
import { useTempDir } from './helpers.js'

const DAY = 24 * 60 * 60 * 1000

describe('an unsent backlog in a SQLite file', () => {
  const tempPath = useTempDir()

  it('reopens with exact pending statuses, reading only the loaded docs until pending() asks for all', async () => {
    const path = tempPath()
    let now = Date.UTC(2026, 0, 5, 12)
    const clock = { now: () => now }
    const writer = createClient({ user: 'alice', storage: sqliteStorage({ path }), clock, periodMs: DAY })
    const room = await writer.open('room')
    for (const text of ['a', 'b', 'c']) await room.send(text)
    now += 2 * DAY
    for (const text of ['d', 'e', 'f']) await room.send(text)
    await writer.close()

    const storage = sqliteStorage({ path })
    const whole = storage.outbox.bind(storage)
    let wholeReads = 0
    storage.outbox = () => {
      wholeReads++
      return whole()
    }
    const client = createClient({ user: 'alice', storage, clock, periodMs: DAY, firstScreen: 2 })
    const reopened = await client.open('room')
    expect(reopened.messages().map((m) => [m.body, m.status])).toEqual(
      ['d', 'e', 'f'].map((body) => [body, 'pending']),
    )
    expect(wholeReads).toBe(0)
    const complete = new Promise<void>((resolve) => reopened.subscribe(resolve))
    expect(reopened.pending().map((m) => m.body)).toEqual(['d', 'e', 'f'])
    await complete
    expect(wholeReads).toBe(1)
    expect(reopened.pending().map((m) => m.body)).toEqual(['a', 'b', 'c', 'd', 'e', 'f'])
    await client.close()
  })

  it('quarantines a damaged entry of a loaded doc, reports it and still opens with the rest pending', async () => {
    const path = tempPath()
    const writer = createClient({ user: 'alice', storage: sqliteStorage({ path }) })
    const room = await writer.open('room')
    const sent = []
    for (const text of ['a', 'b', 'c']) sent.push(await room.send(text))
    await writer.close()

    const storage = sqliteStorage({ path })
    const damaged = storage.database.prepare('UPDATE outbox SET crc = crc + 1 WHERE messages LIKE ?')
    expect(damaged.run(`%${sent[1]!.id}%`).changes).toBe(1)
    const client = createClient({ user: 'alice', storage })
    const errors: TidingsError[] = []
    client.on('error', (error) => errors.push(error))
    const reopened = await client.open('room')
    expect(errors.map((e) => e.code)).toEqual(['storage/corrupt'])
    expect(reopened.messages().map((m) => [m.body, m.status])).toEqual([
      ['a', 'pending'],
      ['b', 'sent'],
      ['c', 'pending'],
    ])
    const quarantined = storage.database.prepare(
      "SELECT count(*) AS n FROM quarantine WHERE source = 'outbox'",
    )
    expect((quarantined.get() as { n: number }).n).toBe(1)
    await client.close()
  })
})
