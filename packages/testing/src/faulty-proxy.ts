import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net'

/** Options of `faultyProxy`: where it forwards and how it degrades the link. */
export interface FaultyProxyOptions {
  /**
   * Where accepted connections are forwarded to. A `TidingsServer` fits as it is (`{ port }`);
   * the host defaults to 127.0.0.1.
   */
  readonly target: { readonly host?: string; readonly port: number }
  /** Throughput of each direction of each connection, bytes per second (default: unlimited). */
  readonly bytesPerSecond?: number
  /**
   * One-way delay added to every chunk, in ms: a number, or `[min, max]` for a delay drawn anew
   * for each chunk (default 0).
   * @remarks Bytes never overtake each other, as on TCP: a chunk drawn shorter than the one before
   * it waits for it. The delay comes on top of the time a throttled chunk waits for its turn.
   */
  readonly latencyMs?: number | readonly [min: number, max: number]
  /** Draws the delays of `latencyMs: [min, max]` (default `Math.random`). */
  readonly random?: () => number
}

/** What the proxy does to traffic now (`handover()` leaves it `'up'`: only old connections are stalled). */
export type ProxyState = 'up' | 'cut' | 'stalled'

/** A running TCP proxy whose connections a test can slow, stall and cut. */
export interface FaultyProxy {
  readonly port: number
  /** `ws://127.0.0.1:<port>`, to hand to a transport in place of the server's url. */
  readonly url: string
  readonly state: ProxyState
  /** Connections accepted and forwarded so far (not those reset while cut). */
  readonly accepted: number
  /** Connections reset on arrival while the link was cut. */
  readonly refused: number
  /** Connections open now. */
  readonly open: number
  /** Bytes delivered client → server (up) and server → client (down). */
  readonly bytes: { readonly up: number; readonly down: number }
  /** Reads from the client (up) and from the server (down): on a quiet link, about one per frame. */
  readonly reads: { readonly up: number; readonly down: number }
  /**
   * The link dies: every open connection is reset at both ends (a dropped network, not a clean
   * close) and what was in flight is lost. Until `restore()`, new connections are reset as soon as
   * they arrive, so clients see their attempts fail.
   */
  cut(): void
  /**
   * The link goes silent: no byte moves on open or new connections, and every socket stays open,
   * closes included (the other side never learns). Only a heartbeat can tell: a dead Wi-Fi, a
   * tunnel, a NAT that forgot the mapping. `restore()` delivers what was held back.
   */
  stall(): void
  /**
   * The connections open now go silent while new ones get through: a phone moving from Wi-Fi to
   * 4G, where the old path dies quietly and the client must notice and dial again.
   */
  handover(): void
  /** Forwarding and new connections work again; stalled bytes and closes are delivered first. */
  restore(): void
  /** Destroys every connection and stops listening. */
  close(): Promise<void>
}

/** Largest write at once: a real link delivers a backlog in packets, not in one burst. */
const CHUNK = 1460
/** The throttle's period. */
const TICK_MS = 10
/** Bytes a pipe holds before it stops reading its source (TCP backpressure then does the rest). */
const HIGH_WATER = 16 * 1024

interface PipeSetup {
  readonly bytesPerSecond: number
  readonly delay: () => number
  readonly held: () => boolean
  readonly delivered: (bytes: number) => void
  readonly read: () => void
}

/**
 * One direction of one connection: a token bucket paced by a timer hands chunks to a delay line,
 * which delivers each at its due time.
 */
class Pipe {
  readonly #queue: Buffer[] = []
  readonly #flight: { chunk: Buffer; due: number }[] = []
  readonly #capacity: number
  #queued = 0
  #tokens: number
  #last = performance.now()
  #lastDue = 0
  #pumpTimer: ReturnType<typeof setTimeout> | undefined
  #landTimer: ReturnType<typeof setTimeout> | undefined
  #ended = false

  constructor(
    readonly from: Socket,
    readonly to: Socket,
    readonly setup: PipeSetup,
  ) {
    const rate = setup.bytesPerSecond
    // Five ticks' worth: enough to absorb a late timer, too little to burst.
    this.#capacity = Number.isFinite(rate) ? Math.max(CHUNK, (rate * TICK_MS * 5) / 1000) : 0
    this.#tokens = this.#capacity
    from.on('data', (chunk: Buffer) => {
      setup.read()
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

  /** Moves what the bucket allows now onto the delay line; comes back on a timer while something waits. */
  pump(): void {
    if (this.#pumpTimer !== undefined || this.to.destroyed || this.setup.held()) return
    const rate = this.setup.bytesPerSecond
    const unlimited = !Number.isFinite(rate)
    const now = performance.now()
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#last) / 1000) * rate)
    this.#last = now
    while (this.#queue.length > 0 && (unlimited || this.#tokens >= 1)) {
      const head = this.#queue[0]!
      const n = unlimited ? head.length : Math.min(head.length, CHUNK, Math.floor(this.#tokens))
      this.#send(head.subarray(0, n), now)
      this.#queued -= n
      if (!unlimited) this.#tokens -= n
      if (n === head.length) this.#queue.shift()
      else this.#queue[0] = head.subarray(n)
    }
    if (this.#queued <= HIGH_WATER / 2 && this.from.isPaused()) this.from.resume()
    if (this.#queue.length > 0) {
      this.#pumpTimer = setTimeout(() => {
        this.#pumpTimer = undefined
        this.pump()
      }, TICK_MS)
    }
    this.land()
  }

  #send(chunk: Buffer, now: number): void {
    this.#lastDue = Math.max(now + this.setup.delay(), this.#lastDue)
    this.#flight.push({ chunk, due: this.#lastDue })
  }

  /** Delivers the chunks whose delay is over; comes back when the next one is due. */
  land(): void {
    if (this.#landTimer !== undefined || this.to.destroyed || this.setup.held()) return
    const now = performance.now()
    while (this.#flight.length > 0 && this.#flight[0]!.due <= now) {
      const { chunk } = this.#flight.shift()!
      this.to.write(chunk)
      this.setup.delivered(chunk.length)
    }
    const next = this.#flight[0]
    if (next) {
      this.#landTimer = setTimeout(() => {
        this.#landTimer = undefined
        this.land()
      }, next.due - now)
    } else if (this.#ended && this.#queue.length === 0) this.to.end()
  }

  stop(): void {
    clearTimeout(this.#pumpTimer)
    clearTimeout(this.#landTimer)
    this.#pumpTimer = undefined
    this.#landTimer = undefined
  }
}

/** A dropped network resets; a socket still connecting has nothing to reset yet. */
const drop = (socket: Socket): void => {
  if (socket.destroyed) return
  if (socket.connecting) socket.destroy()
  else socket.resetAndDestroy()
}

const delays = (latency: FaultyProxyOptions['latencyMs'], random: () => number): (() => number) => {
  const [min, max] = typeof latency === 'number' ? [latency, latency] : (latency ?? [0, 0])
  if (!(min >= 0 && max >= min && Number.isFinite(max))) {
    throw new RangeError(
      `latencyMs must be a finite number ≥ 0 or [min, max] with 0 ≤ min ≤ max; got ${String(latency)}`,
    )
  }
  return min === max ? () => min : () => min + random() * (max - min)
}

/**
 * A TCP proxy on 127.0.0.1 between your clients and a real server, for tests of what a bad
 * network does: throttled and delayed links, dropped links (`cut`), silent links (`stall`,
 * `handover`), and `restore`.
 *
 * @example
 * ```ts
 * const server = await createServer({ port: 0, storage, authenticate })
 * const proxy = await faultyProxy({ target: server, bytesPerSecond: 32_000, latencyMs: [20, 80] })
 * const transport = websocketTransport({ url: proxy.url, token, WebSocket })
 * // … proxy.cut(); proxy.restore(); proxy.stall(); proxy.restore()
 * await proxy.close()
 * ```
 * @remarks Resolves once listening on a free port. Throttle and delay apply to each direction of
 * each connection on its own. Uses only Node built-ins.
 */
export const faultyProxy = async (options: FaultyProxyOptions): Promise<FaultyProxy> => {
  const bytesPerSecond = options.bytesPerSecond ?? Number.POSITIVE_INFINITY
  if (!(bytesPerSecond > 0)) throw new RangeError(`bytesPerSecond must be > 0; got ${bytesPerSecond}`)
  const delay = delays(options.latencyMs, options.random ?? Math.random)
  const target = { host: options.target.host ?? '127.0.0.1', port: options.target.port }
  const links = new Set<Link>()
  const bytes = { up: 0, down: 0 }
  const reads = { up: 0, down: 0 }
  /** Closes seen while held: they reach the other side only when forwarding resumes. */
  const closes: (() => void)[] = []
  let state: ProxyState = 'up'
  let accepted = 0
  let refused = 0

  interface Link {
    frozen: boolean
    readonly pipes: Pipe[]
    end(reset: boolean): void
  }

  const server: Server = createServer((client) => {
    client.on('error', () => {})
    if (state === 'cut') {
      refused++
      drop(client)
      return
    }
    accepted++
    const upstream = connect(target)
    upstream.on('error', () => {})
    for (const socket of [client, upstream]) socket.setNoDelay(true)
    let done = false
    const link: Link = {
      frozen: false,
      pipes: [],
      end: (reset) => {
        if (done) return
        done = true
        links.delete(link)
        for (const pipe of link.pipes) pipe.stop()
        for (const socket of [client, upstream]) reset ? drop(socket) : socket.destroy()
      },
    }
    const held = () => state === 'stalled' || link.frozen
    const pipe = (from: Socket, to: Socket, way: 'up' | 'down') =>
      new Pipe(from, to, {
        bytesPerSecond,
        delay,
        held,
        delivered: (n) => (bytes[way] += n),
        read: () => reads[way]++,
      })
    link.pipes.push(pipe(client, upstream, 'up'), pipe(upstream, client, 'down'))
    links.add(link)
    // One side closing ends the other, as a FIN or RST would; not while held: nothing gets through.
    const gone = () => {
      if (held()) closes.push(gone)
      else link.end(false)
    }
    client.on('close', gone)
    upstream.on('close', gone)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const port = (server.address() as AddressInfo).port

  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    get state() {
      return state
    },
    get accepted() {
      return accepted
    },
    get refused() {
      return refused
    },
    get open() {
      return links.size
    },
    bytes,
    reads,
    cut: () => {
      state = 'cut'
      closes.length = 0
      for (const link of [...links]) link.end(true)
    },
    stall: () => {
      state = 'stalled'
    },
    handover: () => {
      for (const link of links) link.frozen = true
    },
    restore: () => {
      state = 'up'
      for (const link of links) {
        link.frozen = false
        for (const pipe of link.pipes) {
          pipe.pump()
          pipe.land()
        }
      }
      for (const close of closes.splice(0)) close()
    },
    close: async () => {
      for (const link of [...links]) link.end(false)
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
