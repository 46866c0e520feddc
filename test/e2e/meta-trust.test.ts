import { describe, expect, it } from 'vitest'
import { device, startServer, waitFor } from './helpers.js'

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR

describe('meta registration and period lengths through real clients', () => {
  it('registers a conversation opened on a link that is online already: the sender sees delivered and read', async () => {
    const server = await startServer()
    const alice = device(server.url, 'alice')
    const bob = device(server.url, 'bob')
    const a = await alice.client.open('room')
    // Bob's link comes online for another conversation; `room` is opened on the live link.
    await bob.client.open('lobby')
    await bob.client.whenSynced()
    expect(bob.client.connection).toBe('online')
    const b = await bob.client.open('room')
    const errors: string[] = []
    bob.client.on('error', (error) => errors.push(`${error.code}: ${error.message}`))
    const sent = await a.send('hello bob')
    await waitFor(() => a.status(sent.id) === 'delivered', 'delivered', { watch: [a], timeout: 5000 })
    await waitFor(() => b.messages().length === 1, 'bob has it', { watch: [b] })
    await b.markRead(sent.id)
    await waitFor(() => a.status(sent.id) === 'read', 'read', { watch: [a], timeout: 5000 })
    expect(a.readBy(sent.id)).toEqual(['bob'])
    expect(errors).toEqual([])
  })

  it('keeps a day-old message under 30-day retention when devices created the room offline with 1 h and 7-day periods', async () => {
    for (let round = 0; round < 5; round++) {
      // The server is down while both devices create the room and write into it.
      const first = await startServer()
      const port = first.port
      await first.close()
      const yesterday = () => Date.now() - DAY
      const hourly = device(first.url, 'alice', { periodMs: HOUR, now: yesterday })
      const weekly = device(first.url, 'bob', { periodMs: 7 * DAY, now: yesterday })
      const a = await hourly.client.open('room')
      const b = await weekly.client.open('room')
      await a.send('hourly periods')
      await b.send('weekly periods')
      const server = await startServer({ port })
      await Promise.all([hourly.client.whenSynced(), weekly.client.whenSynced()])
      await waitFor(
        () => a.messages().length === 2 && b.messages().length === 2,
        'both messages on both devices',
        { watch: [a, b] },
      )
      const retainedFrom = Date.now() - 30 * DAY
      await server.setRetainedFrom('room', retainedFrom)
      await waitFor(() => a.retainedFrom === retainedFrom && b.retainedFrom === retainedFrom, 'retention', {
        watch: [a, b],
      })
      // The server kept both docs too: a device that joins now gets both messages.
      const carol = device(server.url, 'carol')
      const c = await carol.client.open('room')
      await carol.client.whenSynced()
      await waitFor(() => c.messages().length === 2, `round ${round}: carol has both`, {
        watch: [c],
        timeout: 3000,
      })
      for (const r of [a, b])
        expect(
          r.messages().map((m) => m.body),
          `round ${round}`,
        ).toHaveLength(2)
      await Promise.all([hourly.close(), weekly.close(), carol.close()])
      await server.close()
    }
  })
})
