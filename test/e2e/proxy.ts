import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net'

export interface ProxyOptions {
  /** Where accepted connections are forwarded to. */
  readonly target: { readonly host: string; readonly port: number }
  /** Throughput in each direction, bits per second (default: unlimited). */
  readonly bitsPerSecond?: number
}

export interface TcpProxy {
  readonly port: number
  /** `ws://127.0.0.1:<port>`, to hand to a transport in place of the server's url. */
  readonly url: string
  /** Connections accepted so far. */
  readonly accepted: number
  /** Bytes forwarded client → server and server → client. */
  readonly bytes: { up: number; down: number }
  /** Reads from the client (up) and from the server (down): on a quiet link, about one per frame. */
  readonly reads: { up: number; down: number }
  /** Stops forwarding in both directions, on open and new connections; every socket stays open. */
  pause(): void
  /**
   * Stops forwarding on the connections open now, keeping them open, while new ones work: a
   * network handover, where the old path goes silent and a new connection gets through.
   */
  freeze(): void
  /** Forwards again on every connection, what was held back first. */
  resume(): void
  close(): Promise<void>
}

/** Largest write at once: a real link delivers a backlog in packets, not in one burst. */
const CHUNK = 1460
/** The forwarding timer's period. */
const TICK_MS = 10
/** Bytes a pipe holds before it stops reading its source (TCP backpressure then does the rest). */
const HIGH_WATER = 16 * 1024

/** One direction of one connection: a token bucket paced by a timer, writing in chunks. */
class Pipe {
  readonly #queue: Buffer[] = []
  readonly #rate: number
  readonly #capacity: number
  #queued = 0
  #tokens: number
  #last = performance.now()
  #timer: ReturnType<typeof setTimeout> | undefined
  #ended = false

  constructor(
    readonly from: Socket,
    readonly to: Socket,
    bytesPerSecond: number,
    readonly paused: () => boolean,
    readonly count: (bytes: number) => void,
    readonly read: () => void,
  ) {
    this.#rate = bytesPerSecond
    // Five ticks' worth: enough to absorb a late timer, too little to burst.
    this.#capacity = Number.isFinite(bytesPerSecond)
      ? Math.max(CHUNK, (bytesPerSecond * TICK_MS * 5) / 1000)
      : 0
    this.#tokens = this.#capacity
    from.on('data', (chunk: Buffer) => {
      this.read()
      this.#queue.push(chunk)
      this.#queued += chunk.length
      if (this.#queued > HIGH_WATER) from.pause()
      this.pump()
    })
    from.on('end', () => {
      this.#ended = true
      this.pump()
    })
  }

  /** Writes what the bucket allows now; comes back on a timer while something waits. */
  pump(): void {
    if (this.#timer !== undefined || this.to.destroyed) return
    if (this.paused()) return
    const unlimited = !Number.isFinite(this.#rate)
    const now = performance.now()
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#last) / 1000) * this.#rate)
    this.#last = now
    while (this.#queue.length > 0 && (unlimited || this.#tokens >= 1)) {
      const head = this.#queue[0]!
      const n = unlimited ? head.length : Math.min(head.length, CHUNK, Math.floor(this.#tokens))
      this.to.write(head.subarray(0, n))
      this.count(n)
      this.#queued -= n
      if (!unlimited) this.#tokens -= n
      if (n === head.length) this.#queue.shift()
      else this.#queue[0] = head.subarray(n)
    }
    if (this.#queued <= HIGH_WATER / 2 && this.from.isPaused()) this.from.resume()
    if (this.#queue.length > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.pump()
      }, TICK_MS)
    } else if (this.#ended) this.to.end()
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

/**
 * A TCP proxy on 127.0.0.1 between a client and a server: it limits throughput in both directions
 * with a token bucket and can stop forwarding while keeping the sockets open.
 */
export const startProxy = async (options: ProxyOptions): Promise<TcpProxy> => {
  const bytesPerSecond = (options.bitsPerSecond ?? Number.POSITIVE_INFINITY) / 8
  const sockets = new Set<Socket>()
  const pipes = new Set<Pipe>()
  const links = new Set<{ frozen: boolean }>()
  const bytes = { up: 0, down: 0 }
  const reads = { up: 0, down: 0 }
  /** Closes seen while held: they reach the other side only when forwarding resumes. */
  const closes: (() => void)[] = []
  let paused = false
  let accepted = 0

  const server: Server = createServer((client) => {
    accepted++
    const upstream = connect(options.target)
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true)
      sockets.add(socket)
      socket.on('error', () => {})
    }
    const link = { frozen: false }
    links.add(link)
    const held = () => paused || link.frozen
    const up = new Pipe(
      client,
      upstream,
      bytesPerSecond,
      held,
      (n) => (bytes.up += n),
      () => reads.up++,
    )
    const down = new Pipe(
      upstream,
      client,
      bytesPerSecond,
      held,
      (n) => (bytes.down += n),
      () => reads.down++,
    )
    pipes.add(up).add(down)
    let done = false
    const gone = () => {
      if (done) return
      if (held()) {
        closes.push(gone)
        return
      }
      done = true
      links.delete(link)
      for (const pipe of [up, down]) {
        pipe.stop()
        pipes.delete(pipe)
      }
      for (const socket of [client, upstream]) {
        socket.destroy()
        sockets.delete(socket)
      }
    }
    // One side closing ends the other, as a FIN or RST would; not while held: nothing gets through.
    client.on('close', gone)
    upstream.on('close', gone)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port

  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    get accepted() {
      return accepted
    },
    bytes,
    reads,
    pause: () => {
      paused = true
    },
    freeze: () => {
      for (const link of links) link.frozen = true
    },
    resume: () => {
      paused = false
      for (const link of links) link.frozen = false
      for (const pipe of pipes) pipe.pump()
      for (const close of closes.splice(0)) close()
    },
    close: async () => {
      for (const pipe of pipes) pipe.stop()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
