import { describe, expect, it } from 'vitest'
import { createClient, loopbackHub, memoryStorage, type StorageAdapter } from '../src/index.js'
import { manualTime } from './helpers.js'

const DAY = 24 * 60 * 60 * 1000

/** A storage that records which outbox reads a client makes. */
const watched = (storage: StorageAdapter) => {
  const reads = { whole: 0, docs: [] as string[] }
  const wrapped: StorageAdapter = {
    ...storage,
    outbox: () => {
      reads.whole++
      return storage.outbox()
    },
    outboxOf: (doc) => {
      reads.docs.push(doc)
      return storage.outboxOf!(doc)
    },
  }
  return { storage: wrapped, reads }
}

/** Three messages written offline on day 0 and three on day 2, none ever sent. */
const unsentBacklog = async () => {
  const time = manualTime()
  const storage = memoryStorage()
  const writer = createClient({ user: 'alice', storage, clock: { now: time.now }, periodMs: DAY })
  const room = await writer.open('room')
  for (const text of ['a', 'b', 'c']) await room.send(text)
  time.advance(2 * DAY)
  for (const text of ['d', 'e', 'f']) await room.send(text)
  await writer.close()
  return { time, storage }
}

describe('an outbox read as its docs are needed', () => {
  it('opens with the entries of the loaded docs only, statuses exact, pending() complete once read', async () => {
    const { time, storage } = await unsentBacklog()
    const { storage: store, reads } = watched(storage.reopen())
    const client = createClient({
      user: 'alice',
      storage: store,
      clock: { now: time.now },
      periodMs: DAY,
      firstScreen: 2,
    })
    const room = await client.open('room')
    expect(room.messages().map((m) => [m.body, m.status])).toEqual([
      ['d', 'pending'],
      ['e', 'pending'],
      ['f', 'pending'],
    ])
    // Only the newest period's lane doc (and meta, receipts): day 0's entries stay in storage.
    expect(reads.whole).toBe(0)
    expect(reads.docs.some((doc) => doc.includes('/normal/') && !reads.docs.includes(doc))).toBe(false)
    expect(reads.docs.filter((doc) => doc.includes('/normal/'))).toHaveLength(1)
    const complete = new Promise<void>((resolve) => room.subscribe(resolve))
    expect(room.pending().map((m) => m.body)).toEqual(['d', 'e', 'f'])
    await complete
    expect(room.pending().map((m) => m.body)).toEqual(['a', 'b', 'c', 'd', 'e', 'f'])
    expect(await room.loadOlder()).toBe(true)
    expect(room.messages().map((m) => m.status)).toEqual(Array(6).fill('pending'))
    await client.close()
  })

  it('sends every unread entry once on connect: nothing lost, nothing twice, all sent', async () => {
    const { time, storage } = await unsentBacklog()
    const hub = loopbackHub()
    const sent: string[] = []
    const link = hub.transport()
    const send = link.send.bind(link)
    link.send = (update) => {
      if (update.key) sent.push(update.key)
      send(update)
    }
    const client = createClient({
      user: 'alice',
      storage: storage.reopen(),
      transport: link,
      clock: { now: time.now },
      periodMs: DAY,
      firstScreen: 2,
    })
    const room = await client.open('room')
    await client.whenSynced()
    expect(await room.loadOlder()).toBe(true)
    expect(room.messages().map((m) => [m.body, m.status])).toEqual(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((body) => [body, 'sent']),
    )
    expect(new Set(sent).size).toBe(sent.length)
    const reader = createClient({
      user: 'bob',
      storage: memoryStorage(),
      transport: hub.transport(),
      clock: { now: time.now },
      periodMs: DAY,
    })
    const seen = await reader.open('room')
    await reader.whenSynced()
    while (await seen.loadOlder()) {}
    expect(seen.messages().map((m) => m.body)).toEqual(['a', 'b', 'c', 'd', 'e', 'f'])
    await Promise.all([client.close(), reader.close()])
  })
})
