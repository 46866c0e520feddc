import { createServer, type Server, Socket } from 'node:net'
import { afterEach } from 'vitest'

/** What the link does now; change it at any time, both directions follow at their next tick. */
export interface LinkShape {
  bytesPerSecond: number
  oneWayMs: number
}

const TICK_MS = 10
const HIGH_WATER = 16 * 1024
const proxies: Server[] = []
const sockets: Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await Promise.all(proxies.splice(0).map((p) => new Promise((resolve) => p.close(resolve))))
})

/** One direction: a token bucket paced by a timer, then a delay line that keeps the byte order. */
const pipe = (from: Socket, to: Socket, shape: LinkShape, counted: { bytes: number }) => {
  const queue: Buffer[] = []
  let queued = 0
  let lastDue = 0
  from.on('data', (chunk: Buffer) => {
    queue.push(chunk)
    queued += chunk.length
    if (queued > HIGH_WATER) from.pause()
  })
  const timer = setInterval(() => {
    let budget = (shape.bytesPerSecond * TICK_MS) / 1000
    while (budget > 0 && queue.length > 0) {
      const head = queue[0] as Buffer
      const take = head.subarray(0, Math.ceil(budget))
      if (take.length === head.length) queue.shift()
      else queue[0] = head.subarray(take.length)
      budget -= take.length
      queued -= take.length
      const due = Math.max(lastDue, performance.now() + shape.oneWayMs)
      lastDue = due
      setTimeout(() => {
        counted.bytes += take.length
        if (!to.destroyed) to.write(take)
      }, due - performance.now())
    }
    if (queued <= HIGH_WATER && from.isPaused()) from.resume()
  }, TICK_MS)
  const stop = () => {
    clearInterval(timer)
    to.destroy()
  }
  from.on('close', stop)
  from.on('error', stop)
}

/** A TCP proxy to `port` whose bandwidth and delay the test changes while traffic flows. */
export const shapedLink = async (port: number, shape: LinkShape) => {
  const up = { bytes: 0 }
  const server = createServer((client) => {
    const upstream = new Socket()
    sockets.push(client, upstream)
    upstream.connect(port, '127.0.0.1')
    pipe(client, upstream, shape, up)
    pipe(upstream, client, shape, { bytes: 0 })
  })
  proxies.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  return { url: `ws://127.0.0.1:${address.port}`, up }
}
