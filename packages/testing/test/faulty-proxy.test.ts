import { randomBytes } from 'node:crypto'
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type FaultyProxyOptions, faultyProxy } from '../src/index.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/** Resolves once `predicate` holds, polled every 5 ms; fails after `timeout` naming `what`. */
const until = (predicate: () => boolean, what: string, timeout = 10_000): Promise<void> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const check = () => {
      if (predicate()) return resolve()
      if (performance.now() - started > timeout) return reject(new Error(`timed out waiting for ${what}`))
      setTimeout(check, 5)
    }
    check()
  })

/**
 * Proving that nothing moves takes a while of nothing: 30 of the proxy's 10 ms ticks, long enough
 * for any forwarding timer to have fired many times.
 */
const quietWhile = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms))

/** An echo server on 127.0.0.1 that keeps count of its connections and the bytes it got. */
const echoServer = async () => {
  const sockets = new Set<Socket>()
  const stats = { received: 0, closed: 0 }
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('data', (chunk) => {
      stats.received += chunk.length
      socket.write(chunk)
    })
    socket.on('close', () => {
      sockets.delete(socket)
      stats.closed++
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return { port: (server.address() as AddressInfo).port, sockets, stats }
}

const proxyTo = async (port: number, options: Omit<FaultyProxyOptions, 'target'> = {}) => {
  const proxy = await faultyProxy({ target: { port }, ...options })
  cleanups.push(() => proxy.close())
  return proxy
}

interface Dialed {
  readonly socket: Socket
  /** What came back, in order. */
  readonly received: () => Buffer
  /** Times (performance.now) at which each read arrived, with the total received by then. */
  readonly arrivals: { at: number; total: number }[]
  /** Set once the socket closed: the error code it closed with, or 'clean'. */
  readonly closed: { how?: string }
  readonly connected: Promise<void>
}

const dial = (port: number): Dialed => {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true })
  const chunks: Buffer[] = []
  const arrivals: Dialed['arrivals'] = []
  let total = 0
  const closed: Dialed['closed'] = {}
  let error: string | undefined
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk)
    total += chunk.length
    arrivals.push({ at: performance.now(), total })
  })
  socket.on('error', (e: NodeJS.ErrnoException) => {
    error = e.code ?? e.message
  })
  socket.on('close', () => {
    closed.how = error ?? 'clean'
  })
  cleanups.push(() => void socket.destroy())
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  return { socket, received: () => Buffer.concat(chunks), arrivals, closed, connected }
}

/** Writes `data` and waits for its echo. */
const roundTrip = async (d: Dialed, data: Buffer) => {
  const before = d.received().length
  d.socket.write(data)
  await until(() => d.received().length >= before + data.length, `an echo of ${data.length} bytes`)
  // Buffer.equals: a deep equality walks 200 kB one byte at a time.
  expect(d.received().subarray(before).equals(data), 'the echo equals what was sent').toBe(true)
}

describe('faultyProxy', () => {
  it('forwards both ways byte for byte and counts what it carried', async () => {
    const echo = await echoServer()
    const proxy = await proxyTo(echo.port)
    const d = dial(proxy.port)
    const data = randomBytes(200_000)
    await roundTrip(d, data)
    expect(proxy.url).toBe(`ws://127.0.0.1:${proxy.port}`)
    expect(proxy.bytes).toEqual({ up: data.length, down: data.length })
    expect(proxy.reads.up).toBeGreaterThan(0)
    expect([proxy.accepted, proxy.open, proxy.state]).toEqual([1, 1, 'up'])
    d.socket.end()
    await until(() => proxy.open === 0 && echo.sockets.size === 0, 'the close to reach the server')
  })

  it('limits throughput in each direction to bytesPerSecond', async () => {
    const echo = await echoServer()
    const rate = 40_000
    const proxy = await proxyTo(echo.port, { bytesPerSecond: rate })
    const d = dial(proxy.port)
    await d.connected
    const data = randomBytes(60_000)
    const started = performance.now()
    await roundTrip(d, data)
    const seconds = (performance.now() - started) / 1000
    // Up and down run in parallel; the first 2 kB go at once (the bucket starts full).
    expect(seconds).toBeGreaterThan((data.length - 2000) / rate)
    // Generous: a loaded machine runs late timers, but an unthrottled echo would take milliseconds.
    expect(seconds).toBeLessThan((3 * data.length) / rate)
    // Delivered in packets, not in one burst at the end.
    expect(d.arrivals.length).toBeGreaterThan(20)
  })

  it('delays each direction by latencyMs', async () => {
    const echo = await echoServer()
    const proxy = await proxyTo(echo.port, { latencyMs: 150 })
    const d = dial(proxy.port)
    await d.connected
    const started = performance.now()
    await roundTrip(d, Buffer.from('ping'))
    const rtt = performance.now() - started
    expect(rtt).toBeGreaterThanOrEqual(300)
    expect(rtt).toBeLessThan(300 + 1000)
  })

  it('draws a delay per chunk from [min, max] and never reorders bytes', async () => {
    const echo = await echoServer()
    // Each chunk's delay shorter than the one before: a naive delay line would deliver them backwards.
    let draw = 0
    const proxy = await proxyTo(echo.port, { latencyMs: [0, 200], random: () => 1 - (draw++ % 5) / 5 })
    const d = dial(proxy.port)
    await d.connected
    const chunks = Array.from({ length: 10 }, (_, i) => Buffer.from(`chunk ${i};`))
    const started = performance.now()
    for (const [i, chunk] of chunks.entries()) {
      d.socket.write(chunk)
      // One read per chunk at the proxy, so each gets a delay of its own.
      await until(() => proxy.reads.up === i + 1, `chunk ${i} at the proxy`)
    }
    const all = Buffer.concat(chunks)
    await until(() => d.received().length === all.length, 'every chunk echoed')
    expect(d.received().toString()).toBe(all.toString())
    // The first chunk drew 200 ms on the way up, and at least the minimum draw (40 ms) back.
    expect(d.arrivals[0]!.at - started).toBeGreaterThanOrEqual(240)
  })

  it('cut drops every connection abruptly and refuses new ones until restore', async () => {
    const echo = await echoServer()
    const proxy = await proxyTo(echo.port)
    const [a, b] = [dial(proxy.port), dial(proxy.port)]
    await roundTrip(a, Buffer.from('a'))
    await roundTrip(b, Buffer.from('b'))
    expect(echo.sockets.size).toBe(2)

    proxy.cut()
    expect(proxy.state).toBe('cut')
    await until(() => a.closed.how !== undefined && b.closed.how !== undefined, 'both clients dropped')
    // A reset, not a clean close: the client learns the link died, not that the server hung up.
    expect([a.closed.how, b.closed.how]).toEqual(['ECONNRESET', 'ECONNRESET'])
    await until(() => echo.sockets.size === 0, 'the server side dropped too')
    expect(proxy.open).toBe(0)

    const during = dial(proxy.port)
    during.socket.write('lost')
    await until(() => during.closed.how !== undefined, 'the attempt during the cut to fail')
    // Reset on arrival; a write that meets the reset reports a broken pipe instead.
    expect(['ECONNRESET', 'EPIPE']).toContain(during.closed.how)
    expect(during.received().length).toBe(0)
    expect([proxy.refused, proxy.accepted, echo.stats.received]).toEqual([1, 2, 2])

    proxy.restore()
    expect(proxy.state).toBe('up')
    const after = dial(proxy.port)
    await roundTrip(after, Buffer.from('back'))
    expect([proxy.refused, proxy.accepted, proxy.open]).toEqual([1, 3, 1])
  })

  it('cut loses what was in flight on a throttled link', async () => {
    const echo = await echoServer()
    const proxy = await proxyTo(echo.port, { bytesPerSecond: 20_000 })
    const d = dial(proxy.port)
    await d.connected
    d.socket.write(randomBytes(100_000))
    await until(() => d.received().length > 0, 'the first bytes back')
    proxy.cut()
    await until(() => d.closed.how !== undefined, 'the drop')
    const got = d.received().length
    expect(got).toBeLessThan(100_000)
    expect(proxy.bytes.up).toBeLessThan(100_000)
    // A reset discards what sat in socket buffers too.
    expect(echo.stats.received).toBeLessThanOrEqual(proxy.bytes.up)
    expect(['ECONNRESET', 'EPIPE']).toContain(d.closed.how)
  })

  it('stall keeps sockets open and moves no byte, closes included, until restore', async () => {
    const echo = await echoServer()
    const proxy = await proxyTo(echo.port)
    const [a, quitter] = [dial(proxy.port), dial(proxy.port)]
    await roundTrip(a, Buffer.from('before'))
    await roundTrip(quitter, Buffer.from('before'))
    const received = echo.stats.received

    proxy.stall()
    expect(proxy.state).toBe('stalled')
    a.socket.write('held back')
    quitter.socket.destroy()
    const late = dial(proxy.port)
    await late.connected
    late.socket.write('late')
    await until(() => proxy.reads.up >= 4, 'the proxy to read both writes')
    await quietWhile()
    expect(echo.stats.received).toBe(received)
    expect(a.received().toString()).toBe('before')
    expect(late.received().length).toBe(0)
    // Every socket open on both sides: the server never learnt that one client left.
    expect([a.closed.how, late.closed.how]).toEqual([undefined, undefined])
    expect(echo.sockets.size).toBe(3)
    expect(echo.stats.closed).toBe(0)

    proxy.restore()
    await until(() => a.received().toString() === 'beforeheld back', 'the held bytes echoed')
    await until(() => late.received().toString() === 'late', 'the late connection echoed')
    await until(() => echo.stats.closed === 1, 'the held close delivered')
    await roundTrip(a, Buffer.from('after'))
  })

  it('stall holds bytes already on the delay line', async () => {
    const echo = await echoServer()
    const proxy = await proxyTo(echo.port, { latencyMs: 200 })
    const d = dial(proxy.port)
    await d.connected
    d.socket.write('in flight')
    await until(() => proxy.reads.up === 1, 'the proxy to read it')
    proxy.stall()
    await quietWhile(400)
    expect(echo.stats.received).toBe(0)
    proxy.restore()
    await until(() => d.received().toString() === 'in flight', 'the echo after restore')
  })

  it('handover silences the open connections while new ones get through', async () => {
    const echo = await echoServer()
    const proxy = await proxyTo(echo.port)
    const old = dial(proxy.port)
    await roundTrip(old, Buffer.from('old'))
    proxy.handover()
    expect(proxy.state).toBe('up')
    old.socket.write('stuck')
    const fresh = dial(proxy.port)
    await roundTrip(fresh, Buffer.from('fresh'))
    await quietWhile()
    expect(old.received().toString()).toBe('old')
    expect(old.closed.how).toBeUndefined()
    proxy.restore()
    await until(() => old.received().toString() === 'oldstuck', 'the old path to deliver after restore')
  })

  it('close drops every connection and stops listening', async () => {
    const echo = await echoServer()
    const proxy = await faultyProxy({ target: { port: echo.port } })
    const d = dial(proxy.port)
    await roundTrip(d, Buffer.from('x'))
    await proxy.close()
    await until(() => d.closed.how !== undefined, 'the client dropped')
    const refused = dial(proxy.port)
    await until(() => refused.closed.how !== undefined, 'the attempt after close to fail')
    expect(refused.closed.how).toBe('ECONNREFUSED')
  })

  it('refuses nonsense options', async () => {
    const target = { port: 1 }
    await expect(faultyProxy({ target, bytesPerSecond: 0 })).rejects.toThrow(RangeError)
    await expect(faultyProxy({ target, latencyMs: [50, 10] })).rejects.toThrow(/latencyMs/)
    await expect(faultyProxy({ target, latencyMs: -1 })).rejects.toThrow(/latencyMs/)
  })
})
