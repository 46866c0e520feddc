import type { AddressInfo, Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocketClient, { type WebSocket, WebSocketServer } from 'ws'
import { corkingSink } from '../src/socket.js'

const servers: WebSocketServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    for (const client of server.clients) client.terminate()
    await new Promise((resolve) => server.close(resolve))
  }
})

/** A real ws server on 127.0.0.1 and a client of it; resolves with both ends. */
const pair = async () => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  servers.push(server)
  await new Promise((resolve) => server.once('listening', resolve))
  const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve))
  const client = new WebSocketClient(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`)
  await new Promise((resolve) => client.once('open', resolve))
  return { socket: await accepted, client }
}

describe('corkingSink', () => {
  it('writes the frames queued in one turn with one system call, in order, and confirms each', async () => {
    const { socket, client } = await pair()
    const tcp = (socket as unknown as { _socket: Socket & { _writev: unknown; _write: unknown } })._socket
    // Count the writes the TCP socket hands to the system (each is one writev/write call).
    let writes = 0
    for (const name of ['_writev', '_write'] as const) {
      const original = tcp[name] as (...args: unknown[]) => unknown
      tcp[name] = (...args: unknown[]) => {
        writes++
        return original.apply(tcp, args)
      }
    }
    const received: number[] = []
    const all = new Promise<void>((resolve) =>
      client.on('message', (data: Buffer) => {
        received.push(data[0]!)
        if (received.length === 50) resolve()
      }),
    )
    const sink = corkingSink(socket)
    const confirmed: number[] = []
    for (let i = 0; i < 50; i++) sink.send(new Uint8Array([i, 1, 2, 3]), () => confirmed.push(i))
    await all
    expect(received).toEqual([...Array(50).keys()])
    expect(writes).toBe(1)
    await new Promise((resolve) => setImmediate(resolve))
    expect(confirmed).toEqual([...Array(50).keys()])

    // The next turn corks again: its frames go out too, in a write of their own.
    sink.send(new Uint8Array([50]), () => confirmed.push(50))
    await new Promise<void>((resolve) => client.once('message', () => resolve()))
    expect(writes).toBe(2)
    expect(tcp.writableCorked).toBe(0)
  })

  it('sends nothing and reports the failure once the socket closed', async () => {
    const { socket, client } = await pair()
    const closed = new Promise((resolve) => socket.once('close', resolve))
    client.terminate()
    await closed
    const error = await new Promise<Error | undefined>((resolve) =>
      corkingSink(socket).send(new Uint8Array([1]), resolve),
    )
    expect(error).toBeInstanceOf(Error)
  })
})
