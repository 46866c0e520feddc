import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Client, createClient, memoryStorage, type TidingsError } from '@tidings/core'
import { memoryLocks, tabsTransport } from '@tidings/transport-broadcast'
import { websocketTransport } from '@tidings/transport-websocket'
import { afterEach, expect, it } from 'vitest'
import WebSocket from 'ws'

const clients: Client[] = []
afterEach(async () => {
  for (const client of clients.splice(0).reverse()) await client.close()
})

/** A port nothing listens on: a server taken down. */
const deadPort = async () => {
  const http = createHttpServer()
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  await new Promise<void>((resolve) => http.close(() => resolve()))
  return port
}

const until = async (ready: () => boolean, what: string) => {
  const deadline = Date.now() + 5000
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 5 s`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

// Every tab's `client.link` and `client.on('error')` tell why the leading tab's link is down,
// as a single-tab app's would: the reason used to stay in the leading tab.
it("every tab hears why the leading tab's link is down, once, with its typed code", async () => {
  const url = `ws://127.0.0.1:${await deadPort()}`
  const locks = memoryLocks()
  const name = `link-status-${Math.random()}`
  const tab = () => {
    const errors: TidingsError[] = []
    const transport = tabsTransport({
      name,
      locks,
      leader: () => ({
        storage: memoryStorage(),
        transport: websocketTransport({ url, token: 't', WebSocket, backoff: { base: 20, cap: 40 } }),
      }),
    })
    const client = createClient({ user: 'alice', transport })
    client.on('error', (error) => void errors.push(error))
    clients.push(client)
    return { client, transport, errors }
  }
  const one = tab()
  await one.client.open('room')
  await until(() => one.transport.isLeader, 'tab one leads')
  const two = tab()
  await two.client.open('room')
  await until(() => two.client.link.reason === 'network/unreachable', "tab two's link names the reason")
  expect(two.client.link.state).not.toBe('online')
  await until(() => two.errors.length > 0, "tab two's error")
  await new Promise((resolve) => setTimeout(resolve, 200)) // several retries of the leader
  expect(two.errors.map((e) => e.code)).toEqual(['network/unreachable'])
  expect(two.client.link).toBe(two.client.link) // the same object until it changes
})
