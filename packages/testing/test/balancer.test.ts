import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { roundRobinBalancer } from '../src/index.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/** A TCP server that answers every connection with its own name, then echoes. */
const namedServer = async (
  name: string,
): Promise<{ server: Server; port: number; stop(): Promise<void> }> => {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.write(`${name}\n`)
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const stop = async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  cleanups.push(() => (server.listening ? stop() : undefined))
  return { server, port: (server.address() as AddressInfo).port, stop }
}

/** Connects through the balancer and reads the backend's name; the socket stays open. */
const dial = (port: number): Promise<{ name: string; socket: Socket }> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    cleanups.push(() => void socket.destroy())
    let text = ''
    socket.on('data', (chunk) => {
      text += chunk.toString()
      const end = text.indexOf('\n')
      if (end >= 0) resolve({ name: text.slice(0, end), socket })
    })
    socket.on('error', reject)
    socket.on('close', () => reject(new Error('closed before the backend answered')))
  })

describe('roundRobinBalancer', () => {
  it('spreads connections over the backends in turn, and forwards bytes both ways', async () => {
    const backends = await Promise.all(['a', 'b', 'c'].map(namedServer))
    const balancer = await roundRobinBalancer({ targets: backends })
    cleanups.push(() => balancer.close())
    const names: string[] = []
    for (let i = 0; i < 6; i++) names.push((await dial(balancer.port)).name)
    expect(names).toEqual(['a', 'b', 'c', 'a', 'b', 'c'])
    expect(balancer.open).toBe(6)
    const { socket } = await dial(balancer.port)
    const echoed = new Promise<string>((resolve) => socket.once('data', (chunk) => resolve(chunk.toString())))
    socket.write('ping')
    expect(await echoed).toBe('ping')
  })

  it('skips a backend that refuses, and cuts the clients of one that dies', async () => {
    const backends = await Promise.all(['a', 'b', 'c'].map(namedServer))
    const balancer = await roundRobinBalancer({ targets: backends })
    cleanups.push(() => balancer.close())
    const onB = await dial(balancer.port).then(() => dial(balancer.port))
    expect(onB.name).toBe('b')
    const closed = new Promise<void>((resolve) => onB.socket.once('close', () => resolve()))
    await backends[1]!.stop()
    await closed
    const names: string[] = []
    for (let i = 0; i < 4; i++) names.push((await dial(balancer.port)).name)
    expect(names).not.toContain('b')
    expect(new Set(names)).toEqual(new Set(['a', 'c']))
  })

  it('resets the client when every backend refuses', async () => {
    const backend = await namedServer('a')
    const balancer = await roundRobinBalancer({ targets: [backend] })
    cleanups.push(() => balancer.close())
    await backend.stop()
    await expect(dial(balancer.port)).rejects.toThrow()
    const again = await namedServer('z')
    balancer.setTargets([again])
    expect((await dial(balancer.port)).name).toBe('z')
  })
})
