import { fromBase64 } from 'lib0/buffer'
import { describe, expect, it } from 'vitest'
import { createClient, loopbackHub, memoryStorage } from '../src/index.js'
import { device, manualTime, pair, reusable } from './helpers.js'

const DAY = 24 * 60 * 60 * 1000

describe('edits and deletes', () => {
  it('resolves concurrent edits from two devices of one author the same way everywhere', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const phone = device(hub, 'alice', time).client
    const laptop = device(hub, 'alice', time).client
    const bob = device(hub, 'bob', time).client
    const [p, l, b] = await Promise.all([phone.open('room'), laptop.open('room'), bob.open('room')])
    const m = await p.send('draft')
    await hub.flush()
    await p.edit(m.id, 'from phone')
    time.advance(10)
    await l.edit(m.id, 'from laptop')
    await hub.flush()
    for (const c of [p, l, b]) {
      const [only] = c.messages()
      expect(only?.body).toBe('from laptop')
      expect(only?.editedAt).toBe(time.now())
    }
    await expect(b.edit(m.id, 'hijack')).rejects.toMatchObject({ code: 'permission/denied' })
    await Promise.all([phone.close(), laptop.close(), bob.close()])
  })

  it('keeps a deleted message in place as a tombstone and frees its body', async () => {
    const { hub, alice, bob } = pair()
    const a = await alice.open('room')
    const b = await bob.open('room')
    const first = await a.send('keep')
    const gone = await a.send({ secret: 'remove me' })
    await a.send('after')
    await hub.flush()
    await a.delete(gone.id)
    await hub.flush()
    for (const c of [a, b]) {
      expect(c.messages().map((m) => [m.body, m.deleted])).toEqual([
        ['keep', false],
        [null, true],
        ['after', false],
      ])
    }
    let exported = ''
    for await (const line of a.export()) exported += line
    const lane = exported.split('\n').find((line) => line.includes('"doc":"normal/'))!
    expect(new TextDecoder().decode(fromBase64(JSON.parse(lane).update))).not.toContain('remove me')
    expect(a.messages()[0]?.id).toBe(first.id)
    await expect(a.edit(gone.id, 'again')).rejects.toMatchObject({ code: 'input/invalid' })
    await Promise.all([alice.close(), bob.close()])
  })

  it('frees the body in an export of a period not loaded, though its stored rows still hold it', async () => {
    const storage = memoryStorage()
    const time = manualTime()
    const opts = { periodMs: DAY, firstScreen: 2, clock: { now: time.now } }
    const writer = createClient({ user: 'ann', storage: reusable(storage), ...opts })
    const w = await writer.open('log')
    const gone = await w.send('remove me')
    await w.edit(gone.id, 'remove this edit too')
    await w.delete(gone.id)
    time.advance(3 * DAY)
    await w.send('day 3, one')
    await w.send('day 3, two')
    await writer.close()
    const reader = createClient({ user: 'ann', storage: reusable(storage), ...opts })
    const r = await reader.open('log')
    expect(r.messages().map((m) => m.body)).toEqual(['day 3, one', 'day 3, two'])
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
    const rows = []
    for (const { doc } of await storage.listDocs('log')) rows.push(...(await storage.load(doc)))
    expect(rows.map((row) => decode(row.update)).join()).toContain('remove me')
    let exported = ''
    for await (const line of r.export()) {
      const record = JSON.parse(line)
      exported += record.type === 'doc' ? decode(fromBase64(record.update)) : line
    }
    expect(exported).not.toContain('remove me')
    expect(exported).not.toContain('remove this edit too')
    await reader.close()
  })
})

describe('periods of another length than the reader’s', () => {
  // Meta states no period length (only admins write settings), so each device writes docs of its
  // own option's length. A reader with another length compared the docs' period numbers with its
  // own present period's number: hour numbers are all above the present week's, so it loaded the
  // whole history at open instead of the first screen.
  it('opens with the newest periods only, and pages back through the rest in order', async () => {
    const storage = memoryStorage()
    // Wednesday noon: epoch weeks start on Thursdays, so hours 12 to 47 fall in the next week.
    const time = manualTime(Date.UTC(2026, 0, 7, 12))
    const HOUR = 60 * 60 * 1000
    const writer = createClient({
      user: 'ann',
      storage: reusable(storage),
      periodMs: HOUR,
      clock: { now: time.now },
    })
    const w = await writer.open('log')
    for (let i = 0; i < 48; i++) {
      await w.send(`hour ${i}`)
      time.advance(HOUR)
    }
    await writer.close()
    const reader = createClient({
      user: 'ann',
      storage: reusable(storage),
      firstScreen: 2,
      pageSize: 10,
      clock: { now: time.now },
    })
    const r = await reader.open('log')
    expect(r.messages().map((m) => m.body)).toEqual(['hour 46', 'hour 47'])
    // A send into the reader's own (week) period widens the window to that week's start, so the
    // week doc's messages never sit among unloaded hours, and no further (the week began at hour 12).
    await r.send('a week doc')
    const hours = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => `hour ${from + i}`)
    expect(r.messages().map((m) => m.body)).toEqual([...hours(12, 48), 'a week doc'])
    expect(await r.loadOlder()).toBe(true)
    expect(r.messages()).toHaveLength(47)
    while (await r.loadOlder()) {}
    expect(r.messages().map((m) => m.body)).toEqual([...hours(0, 48), 'a week doc'])
    await reader.close()
  })
})

describe('read status and unread counts', () => {
  it('is exact for a late arrival: what came after a read stays unread for the reader', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const alice = device(hub, 'alice', time)
    const bob = device(hub, 'bob', time)
    const carol = device(hub, 'carol', time)
    const [a, b, c] = await Promise.all([
      alice.client.open('room'),
      bob.client.open('room'),
      carol.client.open('room'),
    ])
    await hub.flush()
    carol.offline()
    const late = await c.send('written on the plane')
    time.advance(60_000)
    const m1 = await a.send('one')
    const m2 = await a.send('two')
    await hub.flush()
    await b.markRead(m2.id)
    await hub.flush()
    expect(b.unreadIds()).toEqual([])
    expect(a.status(m2.id)).toBe('sent') // carol has not got it yet
    carol.online()
    await hub.flush()
    expect(b.messages().map((m) => m.id)).toEqual([late.id, m1.id, m2.id])
    expect(b.unreadIds()).toEqual([late.id])
    expect(c.status(late.id)).toBe('delivered')
    expect(a.status(m2.id)).toBe('delivered')
    await b.markRead(m2.id)
    await c.markRead(m2.id)
    await a.markRead(late.id)
    await hub.flush()
    expect(b.unreadIds()).toEqual([])
    expect(c.status(late.id)).toBe('read')
    expect(c.readBy(late.id)).toEqual(['alice', 'bob'])
    expect(a.status(m1.id)).toBe('read')
    expect(alice.client.conversations()).toEqual([{ id: 'room', unread: 0 }])
    await Promise.all([alice.client.close(), bob.client.close(), carol.client.close()])
  })

  it('counts a late message written into an unloaded period without loading it', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const opts = { periodMs: DAY, firstScreen: 2 }
    const storage = memoryStorage()
    const alice = device(hub, 'alice', time, { ...opts, storage: reusable(storage) })
    const bob = device(hub, 'bob', time, opts)
    const a = await alice.client.open('room')
    const b = await bob.client.open('room')
    await a.send('day 0')
    await hub.flush()
    bob.offline()
    const late = await b.send('written offline on day 0')
    time.advance(3 * DAY)
    const recent = [await a.send('day 3, one'), await a.send('day 3, two')]
    await hub.flush()
    await alice.client.close()
    // Alice restarts: only the newest period fills her first screen.
    const alice2 = device(hub, 'alice', time, { ...opts, storage: reusable(storage) })
    const a2 = await alice2.client.open('room')
    await hub.flush()
    expect(a2.messages().map((m) => m.body)).toEqual(['day 3, one', 'day 3, two'])
    bob.online()
    await hub.flush()
    expect(a2.messages().map((m) => m.id)).toEqual(recent.map((m) => m.id))
    expect(a2.unreadIds()).toEqual([late.id])
    expect(alice2.client.conversations()).toEqual([{ id: 'room', unread: 1 }])
    expect(await a2.loadOlder()).toBe(true)
    expect(a2.messages().map((m) => m.body)).toEqual([
      'day 0',
      'written offline on day 0',
      'day 3, one',
      'day 3, two',
    ])
    await a2.markRead(recent[1]!.id)
    expect(a2.unreadIds()).toEqual([])
    await Promise.all([alice2.client.close(), bob.client.close()])
  })
})

describe('history', () => {
  it('opens with the newest periods only and pages back with loadOlder()', async () => {
    const storage = memoryStorage()
    const time = manualTime()
    const opts = { periodMs: DAY, firstScreen: 5, pageSize: 5, clock: { now: time.now } }
    const writer = createClient({ user: 'ann', storage: reusable(storage), ...opts })
    const w = await writer.open('log')
    for (let day = 0; day < 6; day++) {
      for (let i = 0; i < 3; i++) await w.send(`day ${day} #${i}`)
      time.advance(DAY)
    }
    await writer.close()
    const reader = createClient({ user: 'ann', storage: reusable(storage), ...opts })
    const r = await reader.open('log')
    expect(r.messages().map((m) => m.body)).toEqual([
      'day 4 #0',
      'day 4 #1',
      'day 4 #2',
      'day 5 #0',
      'day 5 #1',
      'day 5 #2',
    ])
    expect(await r.loadOlder()).toBe(true)
    expect(r.messages()).toHaveLength(12)
    while (await r.loadOlder()) {}
    expect(r.messages()).toHaveLength(18)
    expect(r.messages()[0]?.body).toBe('day 0 #0')
    expect(await r.loadOlder()).toBe(false)
    await reader.close()
  })
})

describe('refusals', () => {
  it('keeps a refused message pending, never sent, and offers it again after a reconnect', async () => {
    let refuse = true
    const hub = loopbackHub({
      manual: true,
      accept: (u) => (refuse && u.doc.includes('/urgent/') ? 'clock/skew' : undefined),
    })
    const time = manualTime()
    const alice = device(hub, 'alice', time)
    const errors: string[] = []
    alice.client.on('error', (e) => errors.push(e.code))
    const a = await alice.client.open('room')
    await hub.flush()
    const m = await a.send('from a clock that runs ahead', { priority: 'urgent' })
    const ok = await a.send('fine')
    await hub.flush()
    await alice.client.whenSynced()
    expect(errors).toEqual(['clock/skew'])
    expect(a.status(m.id)).toBe('pending')
    expect(a.status(ok.id)).toBe('sent')
    refuse = false
    alice.offline()
    alice.online()
    await hub.flush()
    expect(a.status(m.id)).toBe('sent')
    await alice.client.close()
  })

  it('marks a message refused as older than retainedFrom expired', async () => {
    const hub = loopbackHub({ manual: true, accept: () => 'retention/expired' })
    const time = manualTime()
    const alice = device(hub, 'alice', time)
    const a = await alice.client.open('room')
    await hub.flush()
    const m = await a.send('too old')
    await hub.flush()
    expect(a.status(m.id)).toBe('expired')
    expect(a.pending()).toEqual([])
    await alice.client.close()
  })
})
