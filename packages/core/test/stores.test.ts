import { describe, expect, it } from 'vitest'
import { type Conversation, createClient, loopbackHub, memoryStorage } from '../src/index.js'

const twoClients = () => {
  const hub = loopbackHub()
  const make = (user: string) =>
    createClient({ user, storage: memoryStorage(), transport: hub.transport(), receiptDelay: 0 })
  return { alice: make('alice'), bob: make('bob') }
}

/** Every snapshot `messages()` gave after a notification, with whether its items matched the last. */
const watchMessages = (convo: Conversation) => {
  const seen: { same: boolean; sameItems: boolean }[] = []
  let previous = convo.messages()
  convo.subscribe(() => {
    const next = convo.messages()
    const sameItems = next.length === previous.length && next.every((m, i) => m === previous[i])
    seen.push({ same: next === previous, sameItems })
    previous = next
  })
  return seen
}

const until = async (check: () => boolean) => {
  const deadline = Date.now() + 5000
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in 5 s')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('store snapshots', () => {
  it('messages() keeps its array when a change (a receipt, an ack) leaves every message as it was', async () => {
    const { alice, bob } = twoClients()
    const [a, b] = await Promise.all([alice.open('room'), bob.open('room')])
    const seenA = watchMessages(a)
    const seenB = watchMessages(b)
    const m = await a.send('hi')
    await until(() => b.messages().length === 1)
    await b.markRead(m.id)
    await until(() => a.status(m.id) === 'read')
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    const all = [...seenA, ...seenB]
    // The receipts of this exchange notify more often than any message changes.
    expect(all.some((s) => s.sameItems)).toBe(true)
    for (const s of all) expect(s.same).toBe(s.sameItems)
    await Promise.all([alice.close(), bob.close()])
  })

  it('conversations() is the same array until a conversation opens or an unread count changes', async () => {
    const { alice, bob } = twoClients()
    let calls = 0
    bob.subscribe(() => calls++)
    expect(bob.conversations()).toEqual([])
    const b = await bob.open('room')
    expect(calls).toBeGreaterThan(0)
    const opened = bob.conversations()
    expect(opened).toEqual([{ id: 'room', unread: 0 }])
    expect(Object.isFrozen(opened)).toBe(true)
    await bob.open('side')
    const both = bob.conversations()
    expect(both).toEqual([
      { id: 'room', unread: 0 },
      { id: 'side', unread: 0 },
    ])
    const a = await alice.open('room')
    const m = await a.send('hi')
    await until(() => b.messages().length === 1)
    const unread = bob.conversations()
    expect(unread).toEqual([
      { id: 'room', unread: 1 },
      { id: 'side', unread: 0 },
    ])
    // An entry whose count stayed is the same object.
    expect(unread[1]).toBe(both[1])
    // Acks and receipts that follow leave the counts as they are: the same array.
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    expect(bob.conversations()).toBe(unread)
    await b.markRead(m.id)
    expect(bob.conversations()).toEqual([
      { id: 'room', unread: 0 },
      { id: 'side', unread: 0 },
    ])
    await Promise.all([alice.close(), bob.close()])
  })

  it('client.subscribe fires on connection changes', async () => {
    const hub = loopbackHub()
    const link = hub.transport()
    const client = createClient({ user: 'alice', storage: memoryStorage(), transport: link })
    const states: string[] = []
    client.subscribe(() => states.push(client.connection))
    await client.open('room')
    await until(() => client.connection === 'online')
    link.disconnect()
    await until(() => client.connection === 'offline')
    expect(states).toContain('online')
    expect(states.at(-1)).toBe('offline')
    await client.close()
  })
})
