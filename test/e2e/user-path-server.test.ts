import { join } from 'node:path'
import { type Client, type Conversation, createClient, memoryStorage } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { websocketTransport } from '@tidings/transport-websocket'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { fakeTime, startServer, tempDir, waitFor } from './helpers.js'

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR
const RANK: Record<string, number> = { pending: 0, sent: 1, delivered: 2, read: 3, expired: 4 }

const clients: Client[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
})

const connect = (
  url: string,
  user: string,
  o: { path?: string; now?: () => number; periodMs?: number } = {},
) => {
  const now = o.now ?? Date.now
  const client = createClient({
    user,
    storage: o.path ? sqliteStorage({ path: o.path }) : memoryStorage(),
    transport: websocketTransport({
      url,
      token: `t-${user}`,
      WebSocket,
      now,
      backoff: { base: 50, cap: 500 },
    }),
    clock: { now },
    receiptDelay: 0,
    ...(o.periodMs ? { periodMs: o.periodMs } : {}),
  })
  clients.push(client)
  return client
}

const everything = async (c: Conversation) => {
  while (await c.loadOlder()) {}
  return c.messages().map((m) => ({ id: m.id, body: m.body, deleted: m.deleted, editedAt: m.editedAt }))
}

describe('user path on a real server', () => {
  // Every clock reads a fixed date: weekly periods start on Thursdays (the epoch was one), so a day
  // fast crosses into the next period on a Wednesday and stays in the same one on a Thursday.
  it.each([
    ['weekly, re-stamped in the same period', undefined, '2026-12-03T05:40:00Z'],
    ['weekly, re-stamped across a period boundary', undefined, '2026-12-02T05:40:00Z'],
    ['hourly', HOUR, '2026-12-03T05:40:00Z'],
  ])(
    'a day-fast offline device with two conversations, a restart and a delete: re-stamped, same ids, delivered (%s)',
    async (_n, periodMs, date) => {
      const time = fakeTime(date)
      const server = await startServer({ now: time.now })
      const dir = tempDir()
      const path = join(dir, 'alice.db')
      const po = periodMs ? { periodMs } : {}
      const bob = connect(server.url, 'bob', { now: time.now, ...po })
      const [bx, by] = [await bob.open('x'), await bob.open('y')]
      await bob.whenSynced()
      // Alice offline, a day fast.
      const offline = createClient({
        user: 'alice',
        storage: sqliteStorage({ path }),
        clock: { now: time.ahead(DAY) },
        ...po,
      })
      const [ax, ay] = [await offline.open('x'), await offline.open('y')]
      const m1 = await ax.send({ t: 'x1 fast' }, { priority: 'urgent' })
      const m2 = await ay.send({ t: 'y1 fast' }, { priority: 'low' })
      const gone = await ax.send({ t: 'x2 fast, deleted' })
      await ax.edit(m1.id, { t: 'x1 fast, edited' })
      await ax.delete(gone.id)
      await offline.close()
      // Restart with the clock still fast, now online.
      const alice = connect(server.url, 'alice', { path, now: time.ahead(DAY), ...po })
      const [ax2, ay2] = [await alice.open('x'), await alice.open('y')]
      const seen: string[] = []
      ax2.subscribe(() => seen.push(ax2.status(m1.id)))
      await waitFor(
        () => ax2.status(m1.id) !== 'pending' && ay2.status(m2.id) !== 'pending',
        'both re-stamped messages acknowledged',
        { watch: [ax2, ay2] },
      )
      await waitFor(
        () => bx.messages().some((m) => m.id === m1.id) && by.messages().some((m) => m.id === m2.id),
        'bob has both',
        {
          watch: [bx, by],
        },
      )
      expect(bx.messages().find((m) => m.id === m1.id)!.body).toEqual({ t: 'x1 fast, edited' })
      expect(by.messages().find((m) => m.id === m2.id)!.body).toEqual({ t: 'y1 fast' })
      expect(bx.messages().find((m) => m.id === gone.id)?.body ?? null).toBeNull()
      const stampA = ax2.messages().find((m) => m.id === m1.id)!.stamp
      expect(stampA.wall).toBeLessThan(time.now() + 60_000)
      for (let i = 1; i < seen.length; i++) expect(RANK[seen[i]!]).toBeGreaterThanOrEqual(RANK[seen[i - 1]!]!)
      // Bob replies; Alice (fast) sends next: order converges.
      await bx.send('bob reply', { replyTo: m1.id })
      await ax2.send('alice next')
      await waitFor(
        () => bx.messages().length === ax2.messages().length && bx.messages().length >= 4,
        'x converged',
        {
          watch: [ax2, bx],
        },
      )
      await alice.whenSynced()
      await bob.whenSynced()
      expect(await everything(ax2)).toEqual(await everything(bx))
      expect(await everything(ay2)).toEqual(await everything(by))
      expect(bx.unreadCount()).toBe(bx.messages().filter((m) => m.author === 'alice' && !m.deleted).length)
      expect(server.errors).toEqual([])
    },
  )

  it('whenSynced() on a fresh device: the history is in messages(); lone surrogates identical via SQLite', async () => {
    const server = await startServer({ dataDir: tempDir() })
    const dir = tempDir()
    const alice = connect(server.url, 'alice', { path: join(dir, 'a.db') })
    const a = await alice.open('room')
    const cut = '😀'.slice(0, 1)
    const sent = []
    for (let i = 0; i < 40; i++) sent.push(await a.send({ text: `m${i}${cut}`, [`k${cut}`]: i }))
    await a.edit(sent[3]!.id, `edited${'😀'.slice(1)}`)
    await alice.whenSynced()
    const bob = connect(server.url, 'bob', { path: join(dir, 'b.db') })
    const b = await bob.open('room')
    await bob.whenSynced()
    expect(b.messages().map((m) => m.body)).toEqual(a.messages().map((m) => m.body))
    expect(b.messages()[0]!.body).toEqual({ text: 'm0\uFFFD', 'k\uFFFD': 0 })
    expect(b.messages()[3]!.body).toBe('edited\uFFFD')
    // Restart bob offline: the same from SQLite.
    await bob.close()
    const bob2 = createClient({ user: 'bob', storage: sqliteStorage({ path: join(dir, 'b.db') }) })
    clients.push(bob2)
    const b2 = await bob2.open('room')
    expect(b2.messages().map((m) => m.body)).toEqual(a.messages().map((m) => m.body))
  })

  it('status seen by a subscriber never moves back, and is not sent before the server acked (online)', async () => {
    const server = await startServer()
    const alice = connect(server.url, 'alice')
    const bob = connect(server.url, 'bob')
    const [a, b] = [await alice.open('room'), await bob.open('room')]
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    for (let round = 0; round < 5; round++) {
      const seen: string[] = []
      let id = ''
      const stop = a.subscribe(() => id && seen.push(a.status(id)))
      id = (await a.send(`r${round}`, { priority: round % 2 ? 'urgent' : 'low' })).id
      seen.push(a.status(id))
      await waitFor(() => b.messages().some((m) => m.id === id), 'bob has it', { watch: [b] })
      await b.markRead(id)
      await waitFor(() => a.status(id) === 'read', 'read', { watch: [a] })
      stop()
      for (let i = 1; i < seen.length; i++) expect(RANK[seen[i]!]).toBeGreaterThanOrEqual(RANK[seen[i - 1]!]!)
    }
  })
})
