import { type Conversation, createClient, memoryStorage } from '@tidings/core'
import { websocketTransport } from '@tidings/transport-websocket'
import { afterEach, expect, it } from 'vitest'
import WS from 'ws'
import { waitFor } from './helpers.js'
import { startStub } from './stub-server.js'

const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const device = (url: string, user: string) => {
  const transport = websocketTransport({ url, token: user, WebSocket: WS })
  const client = createClient({ user, storage: memoryStorage(), transport, receiptDelay: 0 })
  cleanup.push(() => client.close())
  return {
    client,
    offline: () => transport.disconnect(),
    online: () => transport.connect({ user, device: client.device! }),
  }
}

const ids = (c: Conversation) => c.messages().map((m) => m.id)
const bodies = (c: Conversation) => c.messages().map((m) => m.body)

it('two core clients converge through the server, online and after offline sends', async () => {
  const stub = await startStub()
  cleanup.push(() => stub.close())
  const alice = device(stub.url, 'alice')
  const bob = device(stub.url, 'bob')
  const a = await alice.client.open('ops-room')
  const b = await bob.client.open('ops-room')
  await Promise.all([alice.client.whenSynced(), bob.client.whenSynced()])

  const hello = await a.send({ text: 'Confirm the contract' })
  await waitFor(() => b.messages().length === 1, 'bob has the message')
  const urgent = await b.send('On it', { priority: 'urgent', replyTo: hello.id })
  await waitFor(() => a.messages().length === 2 && b.messages().length === 2, 'both messages on both sides')
  await waitFor(() => a.status(hello.id) === 'delivered', 'delivered')
  await a.markRead(urgent.id)
  await waitFor(() => b.status(urgent.id) === 'read', 'read')
  expect(b.readBy(urgent.id)).toEqual(['alice'])

  alice.offline()
  const late = [await a.send('written offline'), await a.send('low, offline', { priority: 'low' })]
  expect(late.map((m) => a.status(m.id))).toEqual(['pending', 'pending'])
  await b.send('while alice was away')
  alice.online()
  await alice.client.whenSynced()
  await waitFor(() => b.messages().length === 5 && a.messages().length === 5, 'five messages on both sides')
  expect(ids(a)).toEqual(ids(b))
  expect(bodies(a)).toEqual(bodies(b))
  expect(a.pending()).toEqual([])
  await waitFor(() => late.every((m) => a.status(m.id) === 'delivered'), 'late messages delivered')
})

it('a device that joins later receives the whole history, docs it never held included', async () => {
  const stub = await startStub()
  cleanup.push(() => stub.close())
  const alice = device(stub.url, 'alice')
  const a = await alice.client.open('room')
  for (const priority of ['low', 'urgent', 'normal', 'high'] as const) await a.send(priority, { priority })
  await alice.client.whenSynced()
  const carol = device(stub.url, 'carol')
  const c = await carol.client.open('room')
  await carol.client.whenSynced()
  await waitFor(() => c.messages().length === 4, 'the history')
  expect(ids(c)).toEqual(ids(a))
})
