import { join } from 'node:path'
import { createClient } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { body, device, startServer, tempDir, waitFor } from '../e2e/helpers.js'
import { shapedLink } from './link.js'

// Pipelined handshake + lazy outbox (issue 12): the outbox follows `auth` at once, but only for the
// docs the client loaded. An urgent message written offline in an older period than the first
// screen is not in a loaded doc. Invariant 4 still holds: after the reconnect, the peer must get
// that urgent message before any normal one queued with it.
const ROOM = 'urgent-old'
const PERIOD = 1000

describe('an urgent message in a period the open did not load', () => {
  it('still reaches the peer before the normal backlog', { timeout: 45_000 }, async () => {
    const server = await startServer()
    const path = join(tempDir(), 'ann.db')
    let now = Date.now() - 600_000
    const writer = createClient({
      user: 'ann',
      storage: sqliteStorage({ path }),
      periodMs: PERIOD,
      clock: { now: () => now },
    })
    const w = await writer.open(ROOM)
    const urgent = await w.send(body('URGENT: written first, in the oldest period'), { priority: 'urgent' })
    const normal: string[] = []
    for (let p = 1; p <= 6; p++) {
      now += PERIOD
      for (let i = 0; i < 60; i++) normal.push((await w.send(body(`p${p} m${i}`, 200))).id)
    }
    await writer.close()

    const bob = device(server.url, 'bob')
    await bob.client.open(ROOM)
    await bob.client.whenSynced()
    const arrived: string[] = []
    bob.transport.on('update', ({ update }) => {
      for (const s of Y.decodeUpdate(update).structs)
        if (s instanceof Y.Item && s.parentSub?.includes('.') && !arrived.includes(s.parentSub))
          arrived.push(s.parentSub)
    })
    const link = await shapedLink(server.port, { bytesPerSecond: 125_000, oneWayMs: 50 })
    const ann = device(link.url, 'ann', { path, periodMs: PERIOD })
    const a = await ann.client.open(ROOM)
    // The open filled its first screen from the newest periods: the urgent one was not loaded.
    expect(a.messages().some((m) => m.id === urgent.id)).toBe(false)
    await waitFor(() => arrived.includes(urgent.id), 'the urgent message at the peer', { timeout: 30_000 })
    const before = arrived.slice(0, arrived.indexOf(urgent.id)).filter((id) => normal.includes(id))
    expect(before).toEqual([])
  })
})
