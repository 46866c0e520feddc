import { type Client, type Conversation, createClient, memoryStorage } from '@tidings/core'
import { afterEach, describe, expect, it } from 'vitest'
import { startServer, until } from './helpers.js'
import { miniTransport } from './mini-transport.js'

const clients: Client[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

const client = (url: string, user: string) => {
  const c = createClient({
    user,
    storage: memoryStorage(),
    transport: miniTransport(url, `t-${user}`),
    receiptDelay: 0,
  })
  clients.push(c)
  return c
}

describe('core clients through the server', () => {
  it('sends, edits, deletes, pins and reads: everything core writes passes the checks', async () => {
    const server = await startServer()
    const errors: unknown[] = []
    const alice = client(server.url, 'alice')
    const bob = client(server.url, 'bob')
    for (const c of [alice, bob]) c.on('error', (error) => errors.push(error))
    const a = await alice.open('room')
    const b = await bob.open('room')
    await Promise.all([alice.whenSynced(), bob.whenSynced()])

    const urgent = await a.send({ text: 'Confirm the contract' }, { priority: 'urgent' })
    const normal = await a.send({ text: 'lunch?' })
    await until(b, () => b.messages().some((m) => m.id === urgent.id))
    const reply = await b.send({ text: 'confirmed' }, { replyTo: urgent.id, priority: 'high' })
    await until(b, () => b.messages().length === 3)
    await until(a, () => a.messages().length === 3)
    await alice.whenSynced()
    expect(a.status(urgent.id)).not.toBe('pending')

    await a.edit(normal.id, { text: 'lunch at 1?' })
    await a.pin(urgent.id)
    await b.delete(reply.id)
    await b.markRead(normal.id)
    const bodyOf = (c: Conversation, id: string) =>
      c.messages().find((m) => m.id === id)?.body as { text?: string } | null | undefined
    await until(b, () => bodyOf(b, normal.id)?.text === 'lunch at 1?')
    await until(a, () => a.messages().find((m) => m.id === reply.id)?.deleted === true)
    await until(a, () => a.status(normal.id) === 'read')
    await until(b, () => b.pins().some((p) => p.id === urgent.id))
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    expect(a.messages().map((m) => m.id)).toEqual(b.messages().map((m) => m.id))
    expect(errors.map((e) => `${(e as { code: string }).code}: ${(e as Error).message}`)).toEqual([])
  })
})
