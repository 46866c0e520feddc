import { describe, expect, it } from 'vitest'
import { device, startServer, waitFor } from './helpers.js'

// Found in the web chat by a black-box tester: meta travels first, so a pin of a message still in
// the outbox reached the server before the message, was refused as naming a message the server
// does not store, and the other page never showed it while the writer's page did.
describe('a pin of a message the server does not have yet', () => {
  it('made offline, reaches the other side pinned once the message is there', async () => {
    const server = await startServer()
    const alice = device(server.url, 'alice')
    const bob = device(server.url, 'bob')
    const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    alice.offline()
    const m = await a.send('pin me', { priority: 'low' })
    await a.pin(m.id)
    await a.edit(m.id, 'pin me, edited')
    alice.online()
    await waitFor(() => b.pins().length === 1, 'bob sees the pin', { watch: [b] })
    expect(b.pins()[0]).toMatchObject({ id: m.id, body: 'pin me, edited' })
    await alice.client.whenSynced()
    expect(a.pending()).toEqual([])
    expect(alice.errors).toEqual([])
    expect(server.errors).toEqual([])
  })

  it('made online right after the send, is not refused', async () => {
    const server = await startServer()
    const alice = device(server.url, 'alice')
    const bob = device(server.url, 'bob')
    const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    await waitFor(() => alice.client.connection === 'online', 'alice online', { watch: [alice.client] })
    for (let i = 0; i < 5; i++) {
      const m = await a.send(`urgent ${i}`, { priority: i % 2 ? 'low' : 'normal' })
      await a.pin(m.id)
    }
    await waitFor(() => b.pins().length === 5, 'bob sees five pins', { watch: [b] })
    await alice.client.whenSynced()
    expect(alice.errors).toEqual([])
  })
})
