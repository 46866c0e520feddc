import { describe, expect, it } from 'vitest'
import { COMPACT_BYTES, COMPACT_ROWS } from '../src/compaction.js'
import {
  createClient,
  isTidingsError,
  loopbackHub,
  type MemoryStorage,
  memoryStorage,
  type StorageAdapter,
} from '../src/index.js'
import { manualTime, pair, reusable } from './helpers.js'

describe('a conversation between two devices', () => {
  it('delivers, orders and reports statuses through the hub', async () => {
    const { hub, alice, bob } = pair()
    const a = await alice.open('ops-room')
    const b = await bob.open('ops-room')
    const m = await a.send({ text: 'Confirm the contract' }, { priority: 'urgent' })
    expect(m.status).toBe('pending')
    expect(a.pending().map((p) => p.id)).toEqual([m.id])
    await hub.flush()
    expect(b.messages().map((x) => x.body)).toEqual([{ text: 'Confirm the contract' }])
    expect(a.status(m.id)).toBe('delivered')
    expect(a.pending()).toEqual([])
    await b.markRead(m.id)
    await hub.flush()
    expect(a.status(m.id)).toBe('read')
    expect(a.readBy(m.id)).toEqual(['bob'])
    expect(b.unreadIds()).toEqual([])
    await alice.close()
    await bob.close()
  })

  it('keeps the same messages() reference until something changes', async () => {
    const client = createClient({ user: 'solo' })
    const c = await client.open('notes')
    await c.send('one')
    const first = c.messages()
    expect(c.messages()).toBe(first)
    await c.send('two')
    expect(c.messages()).not.toBe(first)
    expect(c.messages().map((m) => m.body)).toEqual(['one', 'two'])
    await client.close()
  })

  it('refuses bad input with typed errors and writes nothing', async () => {
    const client = createClient({ user: 'solo', maxBodyBytes: 100 })
    await expect(client.open('bad id!')).rejects.toMatchObject({ code: 'input/invalid' })
    const c = await client.open('notes')
    await expect(c.send({ f: () => 1 })).rejects.toMatchObject({ code: 'input/invalid' })
    await expect(c.send('x'.repeat(200))).rejects.toMatchObject({ code: 'input/too-large' })
    await expect(c.send('hi', { priority: 'asap' as never })).rejects.toMatchObject({ code: 'input/invalid' })
    await expect(c.edit('nobody.1', 'x')).rejects.toMatchObject({ code: 'message/unknown' })
    await expect(c.send('x', { replyTo: 'nobody.3' })).rejects.toSatisfy((e) =>
      isTidingsError(e, 'message/unknown'),
    )
    expect(c.messages()).toEqual([])
    await client.close()
  })

  it('survives a restart from the same storage', async () => {
    const storage = memoryStorage()
    const time = manualTime()
    const first = createClient({ user: 'ann', storage: reusable(storage), clock: { now: time.now } })
    const c1 = await first.open('log')
    const m1 = await c1.send('before')
    await first.close()
    time.advance(-5_000) // the physical clock jumps back across the restart
    const second = createClient({ user: 'ann', storage: reusable(storage), clock: { now: time.now } })
    const c2 = await second.open('log')
    const m2 = await c2.send('after')
    expect(c2.messages().map((m) => m.id)).toEqual([m1.id, m2.id])
    expect(second.device).toBe(first.device)
    expect(c2.status(m1.id)).toBe('pending')
    await second.close()
  })
})

describe('restarts keep receipts', () => {
  it('restores this device read set, so a restart never un-reads a message', async () => {
    const { hub, alice, bob } = pair()
    const a = await alice.open('room')
    const m = await a.send('hello')
    await hub.flush()
    const storage = memoryStorage()
    const time = manualTime()
    const link = hub.transport()
    const carol = createClient({
      user: 'carol',
      storage: reusable(storage),
      transport: link,
      receiptDelay: 0,
      clock: { now: time.now },
    })
    const c = await carol.open('room')
    await hub.flush()
    await c.markRead(m.id)
    await hub.flush()
    expect(a.readBy(m.id)).toEqual(['carol'])
    await carol.close()
    const carol2 = createClient({
      user: 'carol',
      storage: reusable(storage),
      transport: hub.transport(),
      receiptDelay: 0,
      clock: { now: time.now },
    })
    const c2 = await carol2.open('room')
    expect(c2.unreadIds()).toEqual([])
    // A new message makes carol publish her held set again: her read set must come with it.
    await a.send('again')
    await hub.flush()
    expect(a.readBy(m.id)).toEqual(['carol'])
    expect(c2.unreadIds()).toHaveLength(1)
    await Promise.all([alice.close(), bob.close(), carol2.close()])
  })
})

describe('storage upkeep', () => {
  /**
   * A store that records, for each merge, the bytes it took in: the rows of the doc that `compact`
   * or `compactTail` replaced.
   */
  const recording = (storage: MemoryStorage, tail: boolean) => {
    const merges: { kind: string; bytes: number }[] = []
    const merged = async (doc: string, run: () => Promise<void>, kind: string) => {
      const before = await storage.load(doc)
      await run()
      const after = new Set((await storage.load(doc)).map((r) => r.n))
      const bytes = before.filter((r) => !after.has(r.n)).reduce((n, r) => n + r.update.length, 0)
      merges.push({ kind, bytes })
    }
    const { compactTail, ...rest } = reusable(storage)
    const store: StorageAdapter = {
      ...rest,
      compact: (doc) => merged(doc, () => storage.compact(doc), 'whole'),
      ...(tail && compactTail
        ? { compactTail: (doc: string, max: number) => merged(doc, () => compactTail(doc, max), 'tail') }
        : {}),
    }
    return { store, merges }
  }
  const sendAll = async (storage: StorageAdapter, count: number) => {
    const client = createClient({ user: 'ann', storage })
    const c = await client.open('log')
    for (let i = 0; i < count; i++) {
      await c.send(i)
      // An app's sends come from events: timers (the compaction's among them) run in between.
      if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
    }
    await client.close()
  }
  const reread = async (storage: MemoryStorage, count: number) => {
    const again = createClient({ user: 'ann', storage: reusable(storage), firstScreen: count })
    expect((await again.open('log')).messages().map((m) => m.body)).toEqual([...Array(count).keys()])
    await again.close()
  }

  it('merges a doc in bounded steps of its newest rows, never the whole doc, keeping every message', async () => {
    const storage = memoryStorage()
    const { store, merges } = recording(storage, true)
    await sendAll(store, 3000)
    const [lane] = (await storage.listDocs('log')).filter((d) => d.doc.includes('/normal/'))
    // Each step merges the rows since the one before: COMPACT_ROWS rows or COMPACT_BYTES, a little more.
    expect(merges.length).toBeGreaterThan(5)
    expect(merges.every((m) => m.kind === 'tail' && m.bytes <= 2 * COMPACT_BYTES)).toBe(true)
    // About 450 KB of messages: one row per step, and the rows since the last step.
    expect(lane!.updates).toBeLessThanOrEqual(merges.length + 2 * COMPACT_ROWS)
    expect(lane!.updates).toBeLessThan(600)
    await reread(storage, 3000)
  })

  it('merges whole docs each time they double on a store without compactTail', async () => {
    const storage = memoryStorage()
    const { store, merges } = recording(storage, false)
    await sendAll(store, 2000)
    const [lane] = (await storage.listDocs('log')).filter((d) => d.doc.includes('/normal/'))
    expect(merges.filter((m) => m.kind === 'whole').length).toBeGreaterThanOrEqual(3)
    // Merged at 256, 512 and 1,024 messages: 977 rows since, where no compaction would leave 2,000.
    expect(lane!.updates).toBeLessThan(1000)
    await reread(storage, 2000)
  })

  it('retries a start that failed, as when storage was locked for a moment', async () => {
    const storage = memoryStorage()
    let failures = 1
    const flaky = {
      ...storage,
      getMeta: async (key: string) => {
        if (failures-- > 0) throw new Error('locked for a moment')
        return storage.getMeta(key)
      },
    }
    const client = createClient({ user: 'ann', storage: flaky })
    await expect(client.open('log')).rejects.toThrow('locked for a moment')
    const c = await client.open('log')
    expect((await c.send('works')).body).toBe('works')
    await client.close()
  })
})

describe('snapshots', () => {
  it('never show a message as sent before the server has it, even to a listener reading during send', async () => {
    const client = createClient({ user: 'alice' })
    const c = await client.open('room')
    c.subscribe(() => c.messages())
    const m = await c.send('hi')
    expect(c.status(m.id)).toBe('pending')
    expect(c.messages().find((x) => x.id === m.id)?.status).toBe('pending')
    await client.close()
  })
})

describe('one storage, one user', () => {
  it('refuses to open another user on a storage whose device belongs to someone else', async () => {
    const storage = memoryStorage()
    const ann = createClient({ user: 'ann', storage: reusable(storage) })
    await (await ann.open('log')).send('mine')
    await ann.close()
    const bob = createClient({ user: 'bob', storage: reusable(storage) })
    await expect(bob.open('log')).rejects.toMatchObject({ code: 'permission/denied' })
    const annAgain = createClient({ user: 'ann', storage: reusable(storage) })
    expect((await annAgain.open('log')).messages().map((m) => m.body)).toEqual(['mine'])
    await annAgain.close()
  })
})

describe('whenSynced before any open', () => {
  it('resolves at once without a transport', async () => {
    const client = createClient({ user: 'solo' })
    await client.whenSynced()
    await client.close()
  })

  it('connects the transport and resolves once the link is online', async () => {
    const hub = loopbackHub()
    const transport = hub.transport()
    const client = createClient({ user: 'alice', transport })
    expect(transport.state).toBe('offline')
    await client.whenSynced()
    expect(client.connection).toBe('online')
    expect(client.link).toEqual({ state: 'online' })
    expect(client.device).toBeDefined()
    await client.close()
  })

  it('rejects with client/closed when the client closes before the link is up', async () => {
    const hub = loopbackHub()
    const transport = hub.transport()
    // A link that never comes up, like a server that is down.
    transport.connect = () => {}
    const client = createClient({ user: 'alice', transport })
    const synced = client.whenSynced()
    await client.close()
    await expect(synced).rejects.toMatchObject({ code: 'client/closed' })
  })
})
