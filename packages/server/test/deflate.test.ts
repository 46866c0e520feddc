import { type Client, createClient, memoryStorage } from '@tidings/core'
import { websocketTransport } from '@tidings/transport-websocket'
import { afterEach, expect, it } from 'vitest'
import WS from 'ws'
import { startServer } from './helpers.js'

const clients: Client[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

/** The extensions a stock `ws` client (which offers permessage-deflate) agrees on with the server. */
const negotiated = (url: string) =>
  new Promise<string>((resolve, reject) => {
    const ws = new WS(url)
    ws.on('open', () => {
      resolve(ws.extensions)
      ws.close()
    })
    ws.on('error', reject)
  })

it('accepts permessage-deflate only when perMessageDeflate is set', async () => {
  expect(await negotiated((await startServer()).url)).toBe('')
  expect(await negotiated((await startServer({ perMessageDeflate: true })).url)).toMatch(
    /^permessage-deflate/,
  )
})

it('syncs a history of deflated frames to a fresh device', async () => {
  const server = await startServer({ perMessageDeflate: true })
  const device = (user: string) => {
    const c = createClient({
      user,
      storage: memoryStorage(),
      transport: websocketTransport({ url: server.url, token: `t-${user}`, WebSocket: WS }),
    })
    clients.push(c)
    return c
  }
  const alice = device('alice')
  const a = await alice.open('room')
  // Texts long enough that the sync answer is far above ws's 1 KiB compression threshold.
  for (let i = 0; i < 40; i++) await a.send({ text: `message ${i} `.repeat(40) })
  await alice.whenSynced()
  const bob = device('bob')
  const b = await bob.open('room')
  await bob.whenSynced()
  expect(b.messages().map((m) => (m.body as { text: string }).text)).toEqual(
    a.messages().map((m) => (m.body as { text: string }).text),
  )
  expect(b.messages()).toHaveLength(40)
})
