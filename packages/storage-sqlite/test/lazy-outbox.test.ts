import { createClient } from '@tidings/core'
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
})
