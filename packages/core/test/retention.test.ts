import { describe, expect, it } from 'vitest'
import { createClient, type LoopbackFrame, loopbackHub, memoryStorage, parseDocName } from '../src/index.js'
import { device, manualTime, reusable } from './helpers.js'

const DAY = 24 * 60 * 60 * 1000

describe('retention and pins', () => {
  it('drops whole periods before retainedFrom, keeps pins, and never moves back', async () => {
    const storage = memoryStorage()
    const time = manualTime()
    const client = createClient({
      user: 'ann',
      storage: reusable(storage),
      periodMs: DAY,
      clock: { now: time.now },
    })
    const c = await client.open('log')
    const old = await c.send('old and pinned')
    await c.send('old')
    await c.pin(old.id)
    await c.edit(old.id, 'old, pinned, edited')
    time.advance(2 * DAY)
    const kept = await c.send('recent')
    const before = (await storage.listDocs('log')).map((d) => d.doc)
    console.log(before)
    await c.setRetainedFrom(time.now() - DAY)
    const after = (await storage.listDocs('log')).map((d) => d.doc)
    console.log(after)
    // Day-long periods: the names carry their length.
    expect(before.some((d) => d.endsWith(`/normal/${Math.floor((time.now() - 2 * DAY) / DAY)}~${DAY}`))).toBe(
      true,
    )
    expect(
      after.every((d) => {
        const ref = parseDocName(d)
        return ref?.kind === 'meta' || (ref !== undefined && ref.period >= Math.floor(time.now() / DAY))
      }),
    ).toBe(true)
    expect(c.messages().map((m) => m.id)).toEqual([kept.id])
    expect(c.pins().map((p) => [p.id, p.body])).toEqual([[old.id, 'old, pinned, edited']])
    // The two old messages were still unsent: they expire, they are not silently lost.
    expect(c.status(old.id)).toBe('expired')
    expect(c.pending().map((m) => m.id)).toEqual([kept.id])
    await c.setRetainedFrom(0)
    expect(c.retainedFrom).toBe(time.now() - DAY)
    await client.close()
    const again = createClient({
      user: 'ann',
      storage: reusable(storage),
      periodMs: DAY,
      clock: { now: time.now },
    })
    const c2 = await again.open('log')
    expect(c2.messages().map((m) => m.id)).toEqual([kept.id])
    expect(c2.status(old.id)).toBe('expired')
    expect(await c2.loadOlder()).toBe(false)
    await again.close()
  })

  it('spreads retainedFrom and pins to every device; the highest value wins offline', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const a = device(hub, 'alice', time, { periodMs: DAY })
    const b = device(hub, 'bob', time, { periodMs: DAY })
    const [ca, cb] = await Promise.all([a.client.open('room'), b.client.open('room')])
    const m = await ca.send('pin me')
    await hub.flush()
    await cb.pin(m.id)
    time.advance(5 * DAY)
    await ca.send('today')
    await hub.flush()
    b.offline()
    await ca.setRetainedFrom(time.now() - 2 * DAY)
    await cb.setRetainedFrom(time.now() - 3 * DAY)
    b.online()
    await hub.flush()
    for (const c of [ca, cb]) {
      expect(c.retainedFrom).toBe(time.now() - 2 * DAY)
      expect(c.messages().map((x) => x.body)).toEqual(['today'])
      expect(c.pins().map((p) => [p.body, p.pinnedBy])).toEqual([['pin me', 'bob']])
    }
    await Promise.all([a.client.close(), b.client.close()])
  })
  it('forgets a deleted message whose tombstone arrives only after retention dropped its period', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const alice = device(hub, 'alice', time, { periodMs: DAY })
    const bob = device(hub, 'bob', time, { periodMs: DAY })
    const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    const gone = await a.send('deleted, then dropped')
    await hub.flush()
    expect(b.unreadIds()).toEqual([gone.id])
    bob.offline()
    await a.delete(gone.id)
    time.advance(2 * DAY)
    await hub.flush()
    // Bob comes back; the freed lane record reaches him, the tombstone (control doc) only later, as
    // when another device's sync answer carries the free: by then retention dropped the period.
    const late: LoopbackFrame[] = []
    const deliver = async () => {
      for (let quiet = 0; quiet < 3; ) {
        const frames = hub.take()
        if (frames.length === 0) {
          quiet++
          await new Promise((resolve) => setTimeout(resolve, 0))
        } else quiet = 0
        for (const frame of frames) {
          if (frame.link === bob.link.id && frame.doc?.includes('/control/')) late.push(frame)
          else frame.run()
        }
      }
    }
    bob.online()
    await deliver()
    await a.setRetainedFrom(time.now() - DAY)
    await deliver()
    for (const frame of late) frame.run()
    await hub.flush()
    expect(b.retainedFrom).toBe(time.now() - DAY)
    expect(b.unreadIds()).toEqual([])
    expect(bob.client.conversations()).toEqual([{ id: 'room', unread: 0 }])
    await Promise.all([alice.client.close(), bob.client.close()])
  })
})

describe('export and import', () => {
  it('round-trips a conversation exactly, unloaded periods included', async () => {
    const time = manualTime()
    const opts = { periodMs: DAY, firstScreen: 2, clock: { now: time.now } }
    const source = createClient({ user: 'ann', ...opts })
    const s = await source.open('log')
    for (let i = 0; i < 5; i++) {
      const m = await s.send({ n: i }, { priority: i % 2 ? 'urgent' : 'low' })
      if (i === 1) await s.edit(m.id, { n: 1, edited: true })
      if (i === 3) await s.delete(m.id)
      time.advance(DAY)
    }
    let ndjson = ''
    for await (const line of s.export()) ndjson += line
    const target = createClient({ user: 'ann', ...opts })
    const t = await target.open('copy')
    expect(await t.import(ndjson)).toBeGreaterThan(5)
    while (await t.loadOlder()) {}
    while (await s.loadOlder()) {}
    const view = (ms: ReturnType<typeof s.messages>) =>
      ms.map(({ id, body, deleted, sentAt, editedAt }) => ({ id, body, deleted, sentAt, editedAt }))
    expect(view(t.messages())).toEqual(view(s.messages()))
    expect(t.messages()).toHaveLength(5)
    await expect(
      t.import(
        '{"type":"tidings-export","version":1,"docs":1}\n{"type":"doc","doc":"normal/1","update":"!!"}',
      ),
    ).rejects.toMatchObject({ code: 'import/invalid' })
    await expect(t.import('not json')).rejects.toMatchObject({ code: 'import/invalid' })
    await Promise.all([source.close(), target.close()])
  })
})
