import { join } from 'node:path'
import { createClient, DEFAULT_PERIOD_MS, MAX_DRIFT, memoryStorage, periodOf } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { describe, expect, it } from 'vitest'
import { device, fakeTime, startServer, tempDir, waitFor } from './helpers.js'

const DAY = 24 * 60 * 60 * 1000

// Weekly periods start on Thursdays 00:00 UTC (the epoch was a Thursday): a day fast on a
// Wednesday is next week's period, on a Thursday it is this week's.
const cases = [
  ['stays inside its weekly period (Thursday)', '2026-12-03T05:40:00Z', false],
  ['crosses back over a weekly boundary (Wednesday)', '2026-12-02T05:40:00Z', true],
] as const

describe('a day-fast offline device restarts online: the server refuses its stamps, it re-stamps them', () => {
  it.each(cases)('the re-stamped message %s, and the server stores it', async (_name, iso, crosses) => {
    const time = fakeTime(iso)
    const fast = time.ahead(DAY)
    const crossed = periodOf(fast(), DEFAULT_PERIOD_MS) !== periodOf(time.now(), DEFAULT_PERIOD_MS)
    expect(crossed).toBe(crosses)
    const stored = memoryStorage()
    const server = await startServer({ now: time.now, storage: stored })
    const path = join(tempDir(), 'alice.db')
    const offline = createClient({ user: 'alice', storage: sqliteStorage({ path }), clock: { now: fast } })
    const o = await offline.open('room')
    const urgent = await o.send({ t: 'urgent, a day fast' }, { priority: 'urgent' })
    const low = await o.send({ t: 'low, a day fast' }, { priority: 'low' })
    const gone = await o.send({ t: 'deleted a day fast' })
    await o.edit(urgent.id, { t: 'urgent, edited a day fast' })
    await o.delete(gone.id)
    await offline.close()

    // A restart: every doc now writes under a fresh Yjs clientID, the refused entries do not. The
    // conversation opens once the offset is known, so it is re-stamped on the server's refusal,
    // after its sync answer left: only the superseding outbox entry can carry the new stamps.
    const alice = device(server.url, 'alice', { path, now: fast, linkNow: fast })
    const measured = new Promise((resolve) => alice.transport.on('clock-offset', resolve))
    await alice.client.open('lobby')
    await measured
    const a = await alice.client.open('room')
    await waitFor(() => a.pending().length === 0, 'the re-stamped messages acknowledged', { watch: [a] })
    expect(alice.errors).toContain('clock/skew')
    for (const m of a.messages()) expect(m.sentAt).toBeLessThanOrEqual(time.now() + MAX_DRIFT)
    await alice.close()

    // With alice gone, only what the server stored can reach a new device.
    const bob = device(server.url, 'bob', { now: time.now, linkNow: time.now })
    const b = await bob.client.open('room')
    await bob.client.whenSynced()
    while (await b.loadOlder()) {}
    expect(b.messages().map((m) => [m.id, m.body])).toEqual([
      [urgent.id, { t: 'urgent, edited a day fast' }],
      [low.id, { t: 'low, a day fast' }],
      [gone.id, null],
    ])
    const present = periodOf(time.now(), DEFAULT_PERIOD_MS)
    const docs = (await stored.listDocs('room')).map((d) => d.doc)
    expect(docs).toContain(`room/urgent/${present}`)
    expect(docs).toContain(`room/low/${present}`)
    expect(docs.filter((doc) => doc.endsWith(`/${present + 1}`))).toEqual([])
    expect(server.errors).toEqual([])
  })
})
