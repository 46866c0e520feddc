import { fromBase64 } from 'lib0/buffer'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  type Conversation,
  createClient,
  loopbackHub,
  type MemoryStorage,
  memoryStorage,
  type StorageAdapter,
} from '../src/index.js'
import { device, manualTime } from './helpers.js'

const DAY = 24 * 60 * 60 * 1000

interface Published {
  readonly held: Record<string, number[]>
  readonly read: Record<string, number[]>
}

/** The receipt record a device published, as found in the conversation's export, and its size. */
const publishedReceipt = async (convo: Conversation, device: string) => {
  let found: { json: string; record: Published } | undefined
  for await (const line of convo.export()) {
    const record = JSON.parse(line) as { type: string; doc?: string; update?: string }
    if (record.type !== 'doc' || !record.doc?.startsWith('receipts/')) continue
    const doc = new Y.Doc()
    Y.applyUpdate(doc, fromBase64(record.update!))
    const value = doc.getMap<Published>('r').get(device)
    if (value) found = { json: JSON.stringify(value), record: value }
    doc.destroy()
  }
  return found
}

describe('unread counts after retention', () => {
  it('forget the dropped messages, so markRead(newest) brings them to 0, also after a restart', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const storage = memoryStorage()
    const alice = device(hub, 'alice', time, { periodMs: DAY })
    const bob = device(hub, 'bob', time, { periodMs: DAY, storage })
    const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    const sent = []
    for (let day = 0; day < 10; day++) {
      if (day > 0) time.advance(DAY)
      sent.push(await a.send(`day ${day}`))
    }
    await hub.flush()
    expect(b.unreadCount()).toBe(10)
    // Messages of days 0 to 5 lie in periods wholly before now - 3 days (the clock is at noon).
    await a.setRetainedFrom(time.now() - 3 * DAY)
    await hub.flush()
    const kept = sent.slice(6).map((m) => m.id)
    expect(b.messages().map((m) => m.id)).toEqual(kept)
    expect(b.unreadIds()).toEqual(kept)
    await b.markRead(sent[9]!.id)
    expect(b.unreadCount()).toBe(0)
    expect(bob.client.conversations()).toEqual([{ id: 'room', unread: 0 }])
    await bob.client.close()
    const again = createClient({
      user: 'bob',
      storage: storage.reopen(),
      periodMs: DAY,
      clock: { now: time.now },
    })
    const b2 = await again.open('room')
    expect(b2.unreadCount()).toBe(0)
    await Promise.all([again.close(), alice.client.close()])
  })
})

/**
 * A storage that crashes (its handle closes, as `reopen()` does to a dead process) right after
 * committing the first batch `armed` accepts; `restarted()` is the handle the next process gets.
 */
const crashAfter = (store: MemoryStorage) => {
  let armed: ((batch: Parameters<StorageAdapter['write']>[0]) => boolean) | undefined
  let fresh: MemoryStorage | undefined
  const storage: StorageAdapter = {
    ...store,
    async write(batch) {
      await store.write(batch)
      if (armed?.(batch)) {
        armed = undefined
        fresh = store.reopen()
      }
    },
  }
  return {
    storage,
    arm: (test: NonNullable<typeof armed>) => {
      armed = test
    },
    restarted: () => fresh ?? store.reopen(),
  }
}

describe('a crash after retainedFrom rose, before retention ran', () => {
  it('restarts with the dropped messages forgotten: not unread, on every device of the user', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const MINUTE = 60_000
    const opts = { periodMs: MINUTE }
    const crashing = crashAfter(memoryStorage())
    const alice = device(hub, 'alice', time, opts)
    const bob = device(hub, 'bob', time, { ...opts, storage: crashing.storage })
    const bobToo = device(hub, 'bob', time, opts)
    const [a, b, b2] = await Promise.all([alice, bob, bobToo].map((d) => d.client.open('room')))
    const old = await a!.send('a minute before retainedFrom')
    await hub.flush()
    expect(b!.unreadIds()).toEqual([old.id])
    time.advance(2 * MINUTE)
    const recent = await a!.send('kept')
    await hub.flush()
    // Bob's first device dies right after it stored the meta update that raises retainedFrom.
    crashing.arm((batch) => batch.updates?.some((u) => u.doc === 'room/meta') === true)
    await a!.setRetainedFrom(time.now() - MINUTE)
    await hub.flush()
    expect(b2!.unreadIds()).toEqual([recent.id])
    bob.offline()
    // Restarted offline: what storage committed is all it has, and it holds the old period.
    const stored = crashing.restarted()
    const period = `room/normal/${Math.floor(old.sentAt / MINUTE)}~${MINUTE}`
    expect((await stored.listDocs('room')).map((d) => d.doc)).toContain(period)
    const again = createClient({ user: 'bob', storage: stored, ...opts, clock: { now: time.now } })
    const b3 = await again.open('room')
    expect(b3.retainedFrom).toBe(time.now() - MINUTE)
    expect(b3.messages().map((m) => m.id)).toEqual([recent.id])
    expect(b3.unreadIds()).toEqual([recent.id])
    expect(again.conversations()).toEqual([{ id: 'room', unread: 1 }])
    await Promise.all([again.close(), alice.client.close(), bobToo.client.close()])
  })
})

describe('a deleted message in a period not loaded', () => {
  it('is not counted unread, also after a restart', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const opts = { periodMs: DAY, firstScreen: 1 }
    const storage = memoryStorage()
    const alice = device(hub, 'alice', time, opts)
    const bob = device(hub, 'bob', time, { ...opts, storage })
    const [a] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    const old = await a.send('day 0, deleted later')
    const kept = await a.send('day 0, kept')
    time.advance(3 * DAY)
    const recent = await a.send('day 3')
    await hub.flush()
    await bob.client.close()
    // Bob restarts with a first screen of one message: day 0 stays unloaded.
    const bob2 = device(hub, 'bob', time, { ...opts, storage: storage.reopen() })
    const b2 = await bob2.client.open('room')
    await hub.flush()
    expect(b2.messages().map((m) => m.id)).toEqual([recent.id])
    expect(new Set(b2.unreadIds())).toEqual(new Set([old.id, kept.id, recent.id]))
    // The edit and the tombstone share the key <id>/<alice's device>: the tombstone overwrites it.
    await a.edit(old.id, 'day 0, edited')
    await hub.flush()
    await a.delete(old.id)
    await hub.flush()
    expect(b2.messages().map((m) => m.id)).toEqual([recent.id])
    expect(new Set(b2.unreadIds())).toEqual(new Set([kept.id, recent.id]))
    expect(bob2.client.conversations()).toEqual([{ id: 'room', unread: 2 }])
    await bob2.client.close()
    const bob3 = createClient({ user: 'bob', storage: storage.reopen(), ...opts, clock: { now: time.now } })
    const b3 = await bob3.open('room')
    expect(b3.unreadCount()).toBe(2)
    expect(await b3.loadOlder()).toBe(true)
    expect(b3.unreadIds()).toEqual([kept.id, recent.id])
    await Promise.all([bob3.close(), alice.client.close()])
  })
})

describe('ids of a device writing to two conversations', () => {
  it('are dense per conversation, so receipts stay one range per device', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const storage = memoryStorage()
    const alice = device(hub, 'alice', time, { storage })
    const bob = device(hub, 'bob', time)
    const [a1, a2, b1] = await Promise.all([
      alice.client.open('one'),
      alice.client.open('two'),
      bob.client.open('one'),
    ])
    const n = 300
    const ones = []
    for (let i = 0; i < n; i++) {
      ones.push(await a1.send(`one ${i}`))
      await a2.send(`two ${i}`)
      time.advance(1000)
    }
    await hub.flush()
    const dev = alice.client.device!
    expect(ones.map((m) => m.id)).toEqual(ones.map((_, i) => `${dev}.${i + 1}`))
    expect(a2.messages().map((m) => m.id)).toEqual(ones.map((_, i) => `${dev}.${i + 1}`))
    await b1.markRead(ones[n - 1]!.id)
    await hub.flush()
    const receipt = await publishedReceipt(b1, bob.client.device!)
    console.log(
      `bob's receipt after ${n} of alice's messages, alternating conversations: ${receipt?.json.length} chars`,
    )
    expect(receipt?.record.held[dev]).toEqual([1, n])
    expect(receipt?.record.read[dev]).toEqual([1, n])
    expect(a1.status(ones[n - 1]!.id)).toBe('read')

    // The same id in two conversations keeps its own status: one acked, the other still pending.
    alice.offline()
    const pending = await a2.send('offline')
    const twin = a1.messages().find((m) => m.id === pending.id)
    expect(twin).toBeUndefined()
    const next = await a1.send('offline too')
    expect(next.id).toBe(pending.id)
    expect(a2.status(a2.messages()[0]!.id)).toBe('sent')
    expect(a1.status(ones[0]!.id)).toBe('read')
    expect(a2.status(pending.id)).toBe('pending')

    // A restart keeps each conversation's counter.
    await alice.client.close()
    const again = createClient({ user: 'alice', storage: storage.reopen(), clock: { now: time.now } })
    const [c1, c2] = await Promise.all([again.open('one'), again.open('two')])
    expect((await c1.send('after restart')).id).toBe(`${dev}.${n + 2}`)
    expect((await c2.send('after restart')).id).toBe(`${dev}.${n + 2}`)
    await Promise.all([again.close(), bob.client.close()])
  })

  it('continue above the per-device seq of a storage written before seqs were per conversation', async () => {
    const storage = memoryStorage()
    await storage.write({ meta: { device: 'legacydevice1', user: 'ann', seq: '41' } })
    const client = createClient({ user: 'ann', storage })
    const c = await client.open('room')
    expect((await c.send('first after the upgrade')).id).toBe('legacydevice1.42')
    await client.close()
  })

  it('never reuse an id this device already wrote into the conversation, as an import brings back', async () => {
    const client = createClient({ user: 'ann' })
    const source = await client.open('source')
    const written = [await source.send('a'), await source.send('b')]
    const lines: string[] = []
    for await (const line of source.export()) lines.push(line)
    const copy = await client.open('copy')
    await copy.import(lines)
    const m = await copy.send('c')
    expect(written.map((w) => w.id)).not.toContain(m.id)
    expect(copy.messages().map((x) => x.body)).toEqual(['a', 'b', 'c'])
    await client.close()
  })
})
