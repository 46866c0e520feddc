import { join } from 'node:path'
import { type Conversation, createClient, type MessageId, memoryStorage } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { websocketTransport } from '@tidings/transport-websocket'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { later } from '../attack13/kit.js'
import { device, ids, startServer, tempDir, waitFor } from '../e2e/helpers.js'

// Core opens a conversation period by period by period start time. Devices with period lengths of
// 1 h, 1 day and 1 week (clocks behind, writing offline) fill one conversation; a reader with a small
// first screen pages back. The loaded window must be a gapless suffix of the whole history at every
// step ("The loaded window has no gaps", docs/guide.md), and end with every message exactly once.
const ROOM = 'mixed'
const HOUR = 3600_000
const DAY = 24 * HOUR
const WEEK = 7 * DAY

/** Messages written offline by `user` with period length `periodMs`, one at each wall time, then uploaded. */
const writeAndUpload = async (url: string, user: string, periodMs: number, walls: number[]) => {
  const path = join(tempDir(), `${user}.db`)
  let wall = walls[0]!
  const offline = createClient({
    user,
    storage: sqliteStorage({ path }),
    periodMs,
    clock: { now: () => wall },
  })
  const convo = await offline.open(ROOM)
  const sent: MessageId[] = []
  for (const [i, w] of walls.entries()) {
    wall = w
    sent.push((await convo.send({ text: `${user} ${i}` })).id)
  }
  await offline.close()
  const online = device(url, user, { path, periodMs })
  const c = await online.client.open(ROOM)
  await waitFor(() => c.pending().length === 0, `${user}'s messages acknowledged`, { watch: [c] })
  expect(online.errors).toEqual([])
  await online.close()
  return sent
}

/**
 * A reader with a first screen of `firstScreen` messages, on its own SQLite file (`path`) or memory.
 * A device's first sync loads whatever it receives, so the tests open a reader that synced once before.
 */
const reader = (
  url: string,
  user: string,
  options: { firstScreen: number; periodMs?: number; path?: string },
) => {
  const client = createClient({
    user,
    storage: options.path ? sqliteStorage({ path: options.path }) : memoryStorage(),
    transport: websocketTransport({ url, token: `t-${user}`, WebSocket, backoff: { base: 50, cap: 500 } }),
    receiptDelay: 0,
    firstScreen: options.firstScreen,
    ...(options.periodMs ? { periodMs: options.periodMs } : {}),
  })
  later(() => client.close())
  return client
}

/** A reader that synced `ROOM` once and closed, reopened with `options`: its window comes from its file. */
const reopenedReader = async (
  url: string,
  options: { firstScreen: number; periodMs?: number },
  before?: (convo: Conversation) => Promise<void>,
) => {
  const path = join(tempDir(), 'rita.db')
  const first = reader(url, 'rita', { ...options, path })
  const opened = await first.open(ROOM)
  await first.whenSynced()
  await before?.(opened)
  await first.close()
  const client = reader(url, 'rita', { ...options, path })
  const convo = await client.open(ROOM)
  return { client, convo }
}

/** Opens fully: every message, in order. */
const everything = async (url: string) => {
  const client = reader(url, 'whole', { firstScreen: 100_000 })
  const convo = await client.open(ROOM)
  await client.whenSynced()
  while (await convo.loadOlder()) {}
  return ids(convo)
}

/** Whether the window is the newest `window.length` of `full`, in the same order. */
const expectSuffix = (window: string[], full: string[], step: string) => {
  if (process.env.A14_DEBUG)
    console.info(step, JSON.stringify(window), JSON.stringify(full.slice(-window.length - 3)))
  expect(window, `${step}: the window is a gapless suffix`).toEqual(full.slice(full.length - window.length))
}

const mixedHistory = async (url: string) => {
  const now = Date.now()
  const sent: string[] = []
  // Hourly device, 6 h behind: 12 messages over the last 6 hours, two an hour.
  sent.push(
    ...(await writeAndUpload(
      url,
      'hana',
      HOUR,
      [...Array(12)].map((_, i) => now - 6 * HOUR + i * 30 * 60_000),
    )),
  )
  // Daily device, 3 days behind: 8 messages over 3 days, the last an hour ago.
  sent.push(
    ...(await writeAndUpload(
      url,
      'dana',
      DAY,
      [...Array(8)].map((_, i) => now - 3 * DAY + i * 10 * HOUR - HOUR),
    )),
  )
  // Weekly device: 4 messages 10 days ago, then 4 in the last 2 hours, interleaved with hana's.
  sent.push(
    ...(await writeAndUpload(url, 'wes', WEEK, [
      ...[...Array(4)].map((_, i) => now - 10 * DAY + i * HOUR),
      ...[...Array(4)].map((_, i) => now - 2 * HOUR + i * 25 * 60_000 + 7_000),
    ])),
  )
  return sent
}

describe('a conversation of 1 h, 1 day and 1 week periods', () => {
  for (const [name, periodMs] of [
    ['a reader of weekly periods', undefined],
    ['a reader of hourly periods', HOUR],
    ['a reader of daily periods', DAY],
  ] as const) {
    // Was FINDING (attack14 #5), fixed: reopened from its file, the reader's first screen was
    // hana's newest hour docs (…9–12) without wes's two messages sent between them (…7, …8, in the
    // current week doc, whose start is older than the hour docs'): open() loaded docs by start time
    // until the first screen was full, so a long period reaching into the window was skipped. Now
    // every period that ends inside the window loads with it (`History.overlapping`), at open, on
    // paging and on a send or arrival that widens the window.
    it(`${name}, first screen 3: every step a gapless suffix, every message once, in order`, {
      timeout: 20_000,
    }, async () => {
      const server = await startServer()
      const sent = await mixedHistory(server.url)
      const full = await everything(server.url)
      expect([...full].sort()).toEqual([...sent].sort())
      const { client, convo } = await reopenedReader(server.url, {
        firstScreen: 3,
        ...(periodMs ? { periodMs } : {}),
      })
      const shown = ids(convo).length
      const windows = [ids(convo)]
      await client.whenSynced()
      windows.push(ids(convo))
      while (await convo.loadOlder()) windows.push(ids(convo))
      console.info(
        `[attack14] ${name}: open showed ${shown} of ${full.length}, then ${windows.length - 2} pages`,
      )
      expect(shown).toBeLessThan(full.length)
      // Paged to the end: every message once, in order.
      expect(ids(convo)).toEqual(full)
      // And no step showed a window with a gap.
      for (const [i, window] of windows.entries()) expectSuffix(window, full, `window #${i}`)
    })
  }

  // The newest message itself is on the first screen, even from a week doc older by start time.
  it('opened from its file, the newest message (in a week doc) is on the first screen', async () => {
    const server = await startServer()
    const now = Date.now()
    await writeAndUpload(
      server.url,
      'hana',
      HOUR,
      [...Array(6)].map((_, i) => now - 50 * 60_000 + i * 5 * 60_000),
    )
    const [newest] = await writeAndUpload(server.url, 'wes', WEEK, [now - 60_000])
    const full = await everything(server.url)
    expect(full.at(-1)).toBe(newest)
    const { convo } = await reopenedReader(server.url, { firstScreen: 3 })
    expect(ids(convo).at(-1)).toBe(newest)
  })

  it("a weekly device sends live into a week doc that starts before an hourly reader's window: shown at once", {
    timeout: 20_000,
  }, async () => {
    const server = await startServer()
    const now = Date.now()
    const weekStart = Math.floor(now / WEEK) * WEEK
    if (now - weekStart < 2 * HOUR) return // too close to the week's start to tell the docs apart
    // An older message in the current week doc, then ten recent ones in hour docs.
    await writeAndUpload(server.url, 'wes', WEEK, [weekStart + 10 * 60_000])
    await writeAndUpload(
      server.url,
      'hana',
      HOUR,
      [...Array(10)].map((_, i) => now - 40 * 60_000 + i * 60_000),
    )
    const { client, convo } = await reopenedReader(server.url, { firstScreen: 3, periodMs: HOUR })
    await client.whenSynced()
    console.info(`[attack14] hourly reader's window before the live message: ${ids(convo).length}`)
    // Wes, online now, writes into the current week doc (it started hours before rita's window).
    const wes = device(server.url, 'wes2', { periodMs: WEEK })
    const w = await wes.client.open(ROOM)
    const live = await w.send({ text: 'live, weekly' })
    await waitFor(() => ids(convo).includes(live.id), 'rita shows the live message', {
      watch: [convo],
      timeout: 8000,
    })
    expect(ids(convo).at(-1)).toBe(live.id)
    const full = await everything(server.url)
    expectSuffix(ids(convo), full, 'after the live message')
  })

  it('a late message into an old hour doc while a reader is online: unread at once, paged in once', {
    timeout: 20_000,
  }, async () => {
    const server = await startServer()
    await mixedHistory(server.url)
    // Rita read everything in an earlier session.
    const { client, convo } = await reopenedReader(server.url, { firstScreen: 3 }, async (c) => {
      while (await c.loadOlder()) {}
      c.markRead(ids(c).at(-1)!)
      await waitFor(() => c.unreadIds().length === 0, 'everything read', { watch: [c] })
    })
    expect(convo.unreadIds()).toEqual([])
    await client.whenSynced()
    const late = await writeAndUpload(server.url, 'hana', HOUR, [Date.now() - 5 * DAY])
    await waitFor(() => convo.unreadIds().includes(late[0]!), 'the late message counted unread', {
      watch: [convo],
      timeout: 8000,
    })
    expect(ids(convo)).not.toContain(late[0])
    const full = await everything(server.url)
    while (await convo.loadOlder()) {}
    expect(ids(convo)).toEqual(full)
    expect(convo.unreadIds()).toEqual(late)
  })

  it('retention over mixed lengths: what survives pages back whole (gaps: #5), dropped ones never unread', {
    timeout: 20_000,
  }, async () => {
    const server = await startServer()
    await mixedHistory(server.url)
    const { client, convo } = await reopenedReader(server.url, { firstScreen: 3 })
    await client.whenSynced()
    const cutoff = Date.now() - 2 * DAY
    await server.setRetainedFrom(ROOM, cutoff)
    await waitFor(() => convo.retainedFrom >= cutoff, 'rita learns the retention', { watch: [convo] })
    await server.idle()
    const full = await everything(server.url)
    // Whatever survives is not wholly before the cutoff; the hour docs and the current week survive.
    expect(full.length).toBeGreaterThan(12)
    const unreadBefore = [...convo.unreadIds()].sort()
    while (await convo.loadOlder()) {}
    expect(ids(convo)).toEqual(full)
    // Rita read nothing: every surviving message is unread, no dropped one is.
    expect(unreadBefore).toEqual([...full].sort())
    expect([...convo.unreadIds()].sort()).toEqual([...full].sort())
    expect(convo.unreadCount()).toBe(full.length)
  })

  it('export of a mixed-length conversation, not loaded, imported on a device of other periods: the same history', {
    timeout: 20_000,
  }, async () => {
    const server = await startServer()
    await mixedHistory(server.url)
    const { client, convo } = await reopenedReader(server.url, { firstScreen: 3 })
    await client.whenSynced()
    let dump = ''
    for await (const line of convo.export()) dump += line
    const full = await everything(server.url)
    const restored = createClient({ user: 'rita', periodMs: DAY, firstScreen: 3 })
    later(() => restored.close())
    const r = await restored.open(ROOM)
    await r.import(dump)
    while (await r.loadOlder()) {}
    expect(ids(r)).toEqual(full)
    const bodies = new Map(convo.messages().map((m) => [m.id, JSON.stringify(m.body)]))
    for (const m of r.messages()) if (bodies.has(m.id)) expect(JSON.stringify(m.body)).toBe(bodies.get(m.id))
  })

  it('hour, day and week docs that start at the same instant (a week start): paged back, each message once', {
    timeout: 20_000,
  }, async () => {
    const server = await startServer()
    const now = Date.now()
    let start = Math.floor(now / WEEK) * WEEK
    if (now - start < 3 * HOUR) start -= WEEK
    const sent: string[] = []
    // Before the shared start: one of each, in the previous hour, day and week.
    sent.push(
      ...(await writeAndUpload(server.url, 'hana', HOUR, [
        start - 20 * 60_000,
        start + 10 * 60_000,
        start + 40 * 60_000,
      ])),
    )
    sent.push(
      ...(await writeAndUpload(server.url, 'dana', DAY, [
        start - 3 * HOUR,
        start + 20 * 60_000,
        start + 50 * 60_000,
      ])),
    )
    sent.push(
      ...(await writeAndUpload(server.url, 'wes', WEEK, [
        start - 2 * DAY,
        start + 30 * 60_000,
        start + 55 * 60_000,
      ])),
    )
    // Newer ones that fill the first screen.
    sent.push(
      ...(await writeAndUpload(
        server.url,
        'hugo',
        HOUR,
        [...Array(5)].map((_, i) => now - 30 * 60_000 + i * 60_000),
      )),
    )
    const full = await everything(server.url)
    expect([...full].sort()).toEqual([...sent].sort())
    for (const periodMs of [HOUR, DAY, WEEK]) {
      const { client, convo } = await reopenedReader(server.url, { firstScreen: 3, periodMs })
      let pages = 0
      while ((await convo.loadOlder()) && pages < 50) pages++
      expect(ids(convo), `reader of ${periodMs} ms periods`).toEqual(full)
      await client.close()
    }
  })

  it('a late message into a day doc that starts before an hourly window but is stamped inside it: shown, no gap', {
    timeout: 20_000,
  }, async () => {
    const server = await startServer()
    const now = Date.now()
    if (now - Math.floor(now / DAY) * DAY < 2 * HOUR) return // the day doc must start before the hour docs
    await writeAndUpload(
      server.url,
      'hana',
      HOUR,
      [...Array(10)].map((_, i) => now - 40 * 60_000 + i * 60_000),
    )
    const { client, convo } = await reopenedReader(server.url, { firstScreen: 3, periodMs: HOUR })
    await client.whenSynced()
    const oldest = convo.messages()[0]!.sentAt
    // Dana, offline with a clock 5 minutes behind and 1-day periods, then online.
    const [late] = await writeAndUpload(server.url, 'dana', DAY, [now - 5 * 60_000])
    await waitFor(() => convo.unreadIds().includes(late!), 'the late message counted', {
      watch: [convo],
      timeout: 8000,
    })
    expect(now - 5 * 60_000).toBeGreaterThan(oldest)
    await waitFor(() => ids(convo).includes(late!), 'the late message in the window', {
      watch: [convo],
      timeout: 3000,
    })
    expectSuffix(ids(convo), await everything(server.url), 'after the late message')
  })

  it('a fast device fills 1 s period docs ahead of now: the first screen still holds the present, gapless', {
    timeout: 20_000,
  }, async () => {
    const server = await startServer()
    const now = Date.now()
    const present = await writeAndUpload(
      server.url,
      'hana',
      HOUR,
      [...Array(5)].map((_, i) => now - 10 * 60_000 + i * 60_000),
    )
    // 40 s fast (inside MAX_DRIFT), 1 s periods: eight docs that start after now.
    const fast = await writeAndUpload(
      server.url,
      'fred',
      1000,
      [...Array(8)].map((_, i) => now + 30_000 + i * 1000),
    )
    const full = await everything(server.url)
    expect(full.slice(-8)).toEqual(fast)
    const { convo } = await reopenedReader(server.url, { firstScreen: 3 })
    expectSuffix(ids(convo), full, 'open')
    expect(ids(convo)).toContain(present.at(-1))
  })
})
