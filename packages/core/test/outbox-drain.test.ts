import { describe, expect, it } from 'vitest'
import { createClient, loopbackHub, memoryStorage, type OutgoingUpdate } from '../src/index.js'
import { DRAIN_CHUNK } from '../src/outbox-drain.js'

/** More normal messages than one turn of the event loop hands over. */
const BACKLOG = 3 * DRAIN_CHUNK + 7

/**
 * A writer that was online, wrote `BACKLOG` normal messages and then an urgent one offline; its
 * link records every outbox entry the client hands it, and how many it held when the turn of the
 * event loop that handed the urgent one ended.
 */
const offlineBacklog = async () => {
  const hub = loopbackHub()
  const link = hub.transport()
  const handed: OutgoingUpdate[] = []
  const seen = { atUrgentTurnEnd: -1 }
  const send = link.send.bind(link)
  link.send = (update) => {
    if (update.key !== undefined) handed.push(update)
    // Microtasks run when the synchronous work of this turn is over, before any timer.
    if (update.lane === 'urgent') queueMicrotask(() => (seen.atUrgentTurnEnd = handed.length))
    send(update)
  }
  const writer = createClient({ user: 'alice', storage: memoryStorage(), transport: link })
  const room = await writer.open('room')
  await writer.whenSynced()
  link.disconnect()
  const sends: Promise<unknown>[] = []
  for (let i = 0; i < BACKLOG; i++) sends.push(room.send(`normal ${i}`))
  await Promise.all(sends)
  const urgent = await room.send('urgent', { priority: 'urgent' })
  handed.length = 0
  return { hub, link, writer, room, urgent, handed, seen }
}

describe('the outbox handed to the transport on reconnect', () => {
  it('hands the urgent entry first, in a turn of its own, before the backlog is listed', async () => {
    const { hub, link, writer, room, urgent, handed, seen } = await offlineBacklog()
    link.connect({ user: 'alice', device: writer.device! })
    expect(handed.map((u) => u.lane)).toEqual(['urgent'])
    await writer.whenSynced()
    expect(seen.atUrgentTurnEnd).toBe(1)
    // Every entry once, and the backlog in the order it was written.
    const keys = handed.map((u) => u.key)
    expect(new Set(keys).size).toBe(keys.length)
    const normal = handed.filter((u) => u.lane === 'normal').map((u) => Number(u.key!.split(':')[1]))
    expect(normal).toHaveLength(BACKLOG)
    expect(normal).toEqual([...normal].sort((a, b) => a - b))
    expect(room.pending()).toEqual([])
    expect(room.status(urgent.id)).toBe('sent')

    const reader = createClient({ user: 'bob', storage: memoryStorage(), transport: hub.transport() })
    const copy = await reader.open('room')
    await reader.whenSynced()
    expect(copy.messages().map((m) => m.body)).toEqual([
      ...Array.from({ length: BACKLOG }, (_, i) => `normal ${i}`),
      'urgent',
    ])
    await Promise.all([writer.close(), reader.close()])
  })

  it('hands a message written while the backlog goes after the older ones of its lane, once', async () => {
    const { link, writer, room, handed } = await offlineBacklog()
    link.connect({ user: 'alice', device: writer.device! })
    const late = await room.send('late')
    await writer.whenSynced()
    const keys = handed.map((u) => u.key)
    expect(new Set(keys).size).toBe(keys.length)
    // Outbox keys count up as entries are written: the late one's is the highest, handed last.
    const normal = handed.filter((u) => u.lane === 'normal').map((u) => Number(u.key!.split(':')[1]))
    expect(normal).toHaveLength(BACKLOG + 1)
    expect(normal).toEqual([...normal].sort((a, b) => a - b))
    expect(room.status(late.id)).toBe('sent')
    expect(room.pending()).toEqual([])
    await writer.close()
  })
})
