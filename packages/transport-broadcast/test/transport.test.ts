import { type ConnectionState, conversationId, createClient, deviceId } from '@tidings/core'
import { broadcastTransport } from '@tidings/transport-broadcast'
import { afterEach, describe, expect, it } from 'vitest'
import { closeWorld, ids, NAME, openTab, type Tab, texts, type World, waitFor, world } from './helpers.js'

let w: World
afterEach(async () => {
  await closeWorld(w)
})

const session = { user: 'alice', device: deviceId('tab00001') }

const leading = async (): Promise<Tab> => {
  const tab = await openTab(w)
  await waitFor(() => tab.client.connection === 'online', 'the tab to lead, online')
  return tab
}

describe('broadcastTransport', () => {
  it('goes connecting, syncing, online; fires synced per conversation; stops for good on close', async () => {
    w = world()
    await leading()
    const transport = broadcastTransport({ name: NAME })
    const states: ConnectionState[] = []
    const synced: string[] = []
    transport.on('connection', (s) => states.push(s))
    transport.on('synced', ({ conversation }) => synced.push(conversation))
    expect(transport.state).toBe('offline')
    transport.subscribe(conversationId('room'), async () => [])
    transport.connect(session)
    await waitFor(() => transport.state === 'online', 'online')
    transport.subscribe(conversationId('other'), async () => [])
    await waitFor(() => synced.length === 2, 'both conversations synced')
    expect(states).toEqual(['connecting', 'syncing', 'online', 'syncing', 'online'])
    expect(synced).toEqual(['room', 'other'])

    transport.disconnect()
    expect(transport.state).toBe('offline')
    expect(transport.leader).toBeUndefined()
    transport.connect(session)
    await waitFor(() => transport.state === 'online', 'online again')

    await transport.close()
    expect(transport.state).toBe('offline')
    transport.connect(session)
    expect(transport.state).toBe('offline')
  })

  it('delivers updates of subscribed conversations only, and none after unsubscribe', async () => {
    w = world()
    const one = await leading()
    const transport = broadcastTransport({ name: NAME })
    const received: string[] = []
    transport.on('update', ({ doc }) => received.push(doc))
    transport.subscribe(conversationId('other'), async () => [])
    transport.connect(session)
    await waitFor(() => transport.state === 'online', 'online')
    await one.room.send('in room')
    expect(received.filter((d) => !d.startsWith('other/'))).toEqual([])

    transport.subscribe(conversationId('room'), async () => [])
    await waitFor(() => received.some((d) => d.startsWith('room/normal/')), 'the history of room')
    transport.unsubscribe(conversationId('room'))
    const seen = received.length
    await one.room.send('after unsubscribe')
    // A later commit in `other` arrives after the room's would have: one sender, one order.
    await (await one.client.open('other')).send('marker')
    await waitFor(() => received.slice(seen).some((d) => d.startsWith('other/normal/')), 'the marker')
    expect(received.slice(seen).filter((d) => d.startsWith('room/'))).toEqual([])
    await transport.close()
  })

  it("keeps the order of a follower's sends made at once, and its client's whenSynced resolves", async () => {
    w = world()
    const one = await leading()
    const two = await openTab(w)
    await waitFor(() => two.transport.link === 'online', 'online')
    const bodies = Array.from({ length: 25 }, (_, i) => `m${i}`)
    const sent = await Promise.all(bodies.map((b) => two.room.send(b)))
    const lead = await one.server!.client.open('room')
    expect(texts(lead)).toEqual(bodies)
    expect(ids(two.room)).toEqual(sent.map((m) => m.id))
    await two.client.whenSynced()
  })

  it('rejects calls once closed, and calls in flight when it closes', async () => {
    w = world()
    const transport = broadcastTransport({ name: NAME })
    const client = createClient({ user: 'alice', transport })
    const room = await client.open('room')
    // No leader: the call waits, until the transport closes under it.
    const waiting = room.send('never')
    await client.close()
    await expect(waiting).rejects.toMatchObject({ code: 'client/closed' })
    await expect(room.send('later')).rejects.toMatchObject({ code: 'conversation/closed' })
  })

  it('rejects at once a body that cannot cross the channel, leader or not', async () => {
    w = world()
    const tab = await openTab(w)
    await expect(tab.room.send({ run: () => 1 })).rejects.toMatchObject({ code: 'input/invalid' })
  })

  it('refuses a missing name or a runtime without BroadcastChannel', () => {
    expect(() => broadcastTransport({ name: '' })).toThrow(/name/)
    const transport = broadcastTransport({
      name: NAME,
      BroadcastChannel: undefined as never,
    })
    const saved = globalThis.BroadcastChannel
    try {
      ;(globalThis as { BroadcastChannel?: unknown }).BroadcastChannel = undefined
      expect(() => transport.connect(session)).toThrow(/BroadcastChannel/)
    } finally {
      globalThis.BroadcastChannel = saved
    }
  })
})
