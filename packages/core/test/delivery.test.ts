import { describe, expect, it } from 'vitest'
import {
  type Conversation,
  createClient,
  loopbackHub,
  type MessageStatus,
  memoryStorage,
  type StorageAdapter,
  type TidingsError,
} from '../src/index.js'
import { device, manualTime, reusable } from './helpers.js'

const RANK: Record<MessageStatus, number> = { pending: 0, sent: 1, delivered: 2, read: 3, expired: 4 }

/** Every status a subscriber sees for the message with this body, in order, without repeats. */
const statusTrail = (convo: Conversation, body: string) => {
  const trail: MessageStatus[] = []
  convo.subscribe(() => {
    const m = convo.messages().find((x) => x.body === body)
    if (m && trail.at(-1) !== m.status) trail.push(m.status)
  })
  return trail
}

describe('delivery and API behaviour', () => {
  it('sends what import() wrote while online, so online peers get it', async () => {
    const hub = loopbackHub()
    const time = manualTime()
    const alice = device(hub, 'alice', time)
    const bob = device(hub, 'bob', time)
    const room = await alice.client.open('room')
    await room.send('one')
    await room.send('two')
    const lines: string[] = []
    for await (const line of room.export()) lines.push(line)
    const [archiveA, archiveB] = await Promise.all([alice.client.open('archive'), bob.client.open('archive')])
    await Promise.all([alice.client.whenSynced(), bob.client.whenSynced()])
    expect(await archiveA.import(lines)).toBeGreaterThan(0)
    await alice.client.whenSynced()
    await hub.flush()
    expect(archiveB.messages().map((m) => m.body)).toEqual(['one', 'two'])
    await Promise.all([alice.client.close(), bob.client.close()])
  })

  it('keeps acknowledged messages sent when a device imports what it already holds', async () => {
    // Found by the fault matrix: importing a device's own backup made its sent messages pending.
    const hub = loopbackHub({ manual: true })
    const alice = device(hub, 'alice', manualTime())
    const room = await alice.client.open('room')
    await room.send('one')
    await hub.flush()
    const trail = statusTrail(room, 'one')
    const lines: string[] = []
    for await (const line of room.export()) lines.push(line)
    await room.send('two')
    expect(await room.import(lines)).toBeGreaterThan(0)
    await hub.flush()
    expect(trail).not.toContain('pending')
    expect(room.messages().map((m) => [m.body, m.status])).toEqual([
      ['one', 'sent'],
      ['two', 'sent'],
    ])
    await alice.client.close()
  })

  it('sends the outbox of a conversation opened after the link came up, without a reconnect', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const storage = memoryStorage()
    const alice = device(hub, 'alice', time, { storage: reusable(storage) })
    const bob = device(hub, 'bob', time)
    const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    await alice.client.open('other')
    await hub.flush()
    const m = await a.send('written just before a restart')
    await alice.client.close() // the frame in flight is lost with the link
    const again = device(hub, 'alice', time, { storage: reusable(storage) })
    await again.client.open('other') // the link comes up before 'room' is open
    const a2 = await again.client.open('room')
    await hub.flush()
    expect(b.messages().map((x) => x.id)).toEqual([m.id])
    expect(a2.status(m.id)).not.toBe('pending')
    await Promise.all([again.client.close(), bob.client.close()])
  })

  it('whenSynced() resolves once the received history is in messages()', async () => {
    const hub = loopbackHub()
    const time = manualTime()
    const alice = device(hub, 'alice', time)
    const a = await alice.client.open('room')
    for (let i = 0; i < 19; i++) await a.send(`message ${i}`)
    await alice.client.whenSynced()
    const fresh = device(hub, 'bob', time)
    const b = await fresh.client.open('room')
    await fresh.client.whenSynced()
    expect(b.messages()).toHaveLength(19)
    await Promise.all([alice.client.close(), fresh.client.close()])
  })

  it('never reports sent before the server acked, and no status moves backwards', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const mem = memoryStorage()
    let writes = 0
    const storage: StorageAdapter = {
      ...mem,
      write: async (batch) => {
        await mem.write(batch)
        writes++
      },
    }
    const alice = device(hub, 'alice', time, { storage })
    const bob = device(hub, 'bob', time)
    const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    await hub.flush()
    let id: string | undefined
    let before = -1
    const early: string[] = []
    a.subscribe(() => {
      // A listener that sees the new message runs after the write that made it durable.
      if (id === undefined && before >= 0 && a.messages().length > 0 && writes === before)
        early.push('listener ran before the write')
    })
    const trail = statusTrail(a, 'hello')
    before = writes
    id = (await a.send('hello')).id
    expect(early).toEqual([])
    expect(trail).toEqual(['pending'])
    alice.offline()
    const offline = await a.send('offline')
    expect(a.status(offline.id)).toBe('pending')
    alice.online()
    await hub.flush()
    await b.markRead(id)
    await hub.flush()
    expect(trail.at(-1)).toBe('read')
    for (let i = 1; i < trail.length; i++) expect(RANK[trail[i]!]).toBeGreaterThan(RANK[trail[i - 1]!])
    expect(trail[0]).toBe('pending')
    await Promise.all([alice.client.close(), bob.client.close()])
  })

  it('sends a pending offline message with a status trail that only moves forward', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const alice = device(hub, 'alice', time)
    const a = await alice.client.open('room')
    alice.offline()
    const trail = statusTrail(a, 'offline')
    await a.send('offline')
    alice.online()
    await hub.flush()
    expect(trail).toEqual(['pending', 'sent'])
    await alice.client.close()
  })

  it('a subscriber that throws reaches on("error"), never the write; close() still closes', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const mem = memoryStorage()
    const alice = device(hub, 'alice', time, { storage: reusable(mem), receiptDelay: 60_000 })
    const bob = device(hub, 'bob', time)
    const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    const errors: TidingsError[] = []
    alice.client.on('error', (error) => errors.push(error))
    alice.client.on('connection', () => {
      throw new Error('connection listener')
    })
    a.subscribe(() => {
      throw new Error('boom')
    })
    const sent = await a.send('still sent')
    expect(errors.length).toBeGreaterThan(0)
    expect((errors[0]!.cause as Error).message).toBe('boom')
    await b.send('makes a receipt due')
    await hub.flush()
    expect(alice.link.state).toBe('online')
    await alice.client.close()
    expect(alice.link.state).toBe('offline')
    // The message was stored: a restart on the same bytes shows it.
    const again = createClient({ user: 'alice', storage: mem })
    const a2 = await again.open('room')
    expect(a2.messages().map((m) => m.id)).toContain(sent.id)
    await again.close()
    // close() closed the storage it was given.
    await expect(mem.getMeta('device')).rejects.toMatchObject({ code: 'storage/closed' })
    await bob.client.close()
  })

  it('an edit queued behind a delete of the same message is refused, not written over the tombstone', async () => {
    const hub = loopbackHub({ manual: true })
    const alice = device(hub, 'alice', manualTime())
    const a = await alice.client.open('room')
    const m = await a.send('soon gone')
    const [deleted, edited] = await Promise.allSettled([a.delete(m.id), a.edit(m.id, 'too late')])
    expect(deleted.status).toBe('fulfilled')
    expect(edited).toMatchObject({ status: 'rejected', reason: { code: 'input/invalid' } })
    expect(a.messages().map((x) => [x.id, x.deleted])).toEqual([[m.id, true]])
    await alice.client.close()
  })

  it('a hub answers a subscription in sync order: urgent docs before normal ones created earlier', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const alice = device(hub, 'alice', time)
    const bob = device(hub, 'bob', time)
    const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    await hub.flush()
    bob.offline()
    await a.send('normal, written first')
    const urgent = await a.send('urgent, written last', { priority: 'urgent' })
    await hub.flush()
    const firstShown: string[] = []
    b.subscribe(() => {
      if (firstShown.length === 0 && b.messages().length > 0) firstShown.push(b.messages()[0]!.id)
    })
    bob.online()
    // One frame at a time, as a link delivers them: the first message Bob shows must be urgent.
    for (let tick = 0; tick < 1000 && firstShown.length === 0; tick++) {
      hub.deliver()
      await new Promise((resolve) => setTimeout(resolve, 0))
    }
    expect(firstShown).toEqual([urgent.id])
    await Promise.all([alice.client.close(), bob.client.close()])
  })

  it('gives injected timers back only handles they made: markRead and close with no receipt due', async () => {
    const handles = new Set<unknown>()
    const strict = {
      setTimeout: (fn: () => void, ms: number) => {
        const handle = setTimeout(fn, ms)
        handles.add(handle)
        return handle
      },
      clearTimeout: (handle: unknown) => {
        if (!handles.has(handle)) throw new Error(`clearTimeout(${String(handle)}): not a handle of ours`)
        clearTimeout(handle as ReturnType<typeof setTimeout>)
      },
    }
    const hub = loopbackHub()
    const alice = device(hub, 'alice', manualTime(), { timers: strict })
    const errors: TidingsError[] = []
    alice.client.on('error', (error) => errors.push(error))
    const room = await alice.client.open('room')
    const m = await room.send('hello')
    await alice.client.whenSynced()
    await room.markRead(m.id)
    await alice.client.close()
    expect(errors).toEqual([])
  })
})
