import { type Client, createClient, memoryStorage } from '@tidings/core'
import { websocketTransport } from '@tidings/transport-websocket'
import { afterEach, expect, it } from 'vitest'
import WS from 'ws'
import { startServer } from './helpers.js'

const clients: Client[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

const client = (url: string, user: string, periodMs?: number) => {
  const c = createClient({
    user,
    storage: memoryStorage(),
    transport: websocketTransport({ url, token: `t-${user}`, WebSocket: WS }),
    ...(periodMs ? { periodMs } : {}),
  })
  clients.push(c)
  return c
}

it('whenSynced() on a fresh device resolves with the whole history in messages(), over real sockets', async () => {
  const server = await startServer()
  const alice = client(server.url, 'alice', 60_000)
  const a = await alice.open('room')
  for (let i = 0; i < 19; i++) await a.send({ n: i }, { priority: i % 3 === 0 ? 'urgent' : 'normal' })
  await alice.whenSynced()
  const bob = client(server.url, 'bob', 60_000)
  const b = await bob.open('room')
  await bob.whenSynced()
  expect(b.messages()).toHaveLength(19)
})
