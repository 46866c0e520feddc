import { type AddressInfo, connect, createServer, type Socket } from 'node:net'

/** Where a balancer sends connections: a `TidingsServer` fits as it is (`{ port }`). */
export interface BalancerTarget {
  readonly host?: string
  readonly port: number
}

/** Options of `roundRobinBalancer`. */
export interface BalancerOptions {
  /** The backends, tried in turn; `setTargets` replaces them. */
  readonly targets: readonly BalancerTarget[]
  /** Port to listen on (default 0: a free one). */
  readonly port?: number
}

/** A running round-robin TCP balancer. */
export interface Balancer {
  readonly port: number
  /** `ws://127.0.0.1:<port>`, to hand to a transport in place of a server's url. */
  readonly url: string
  /** Connections forwarded to each target so far, by `host:port`. */
  readonly accepted: ReadonlyMap<string, number>
  /** Connections open now. */
  readonly open: number
  /** Replaces the backends (a process restarted on another port); open connections stay. */
  setTargets(targets: readonly BalancerTarget[]): void
  /** Destroys every connection and stops listening. */
  close(): Promise<void>
}

const keyOf = (target: BalancerTarget): string => `${target.host ?? '127.0.0.1'}:${target.port}`

/**
 * A layer-4 round-robin balancer, as a load balancer in front of several server processes: each
 * new connection goes to the next backend, so the clients of one conversation land on different
 * processes. A backend that refuses the connection (a killed process) is skipped for the next
 * one; when every backend refuses, the client's socket is reset and it dials again, as through a
 * real balancer whose health checks have not caught up yet.
 */
export const roundRobinBalancer = async (options: BalancerOptions): Promise<Balancer> => {
  let targets = [...options.targets]
  let next = 0
  const accepted = new Map<string, number>()
  const sockets = new Set<Socket>()

  const pipe = (client: Socket, tried: number): void => {
    if (targets.length === 0 || tried >= targets.length) {
      client.destroy()
      return
    }
    const target = targets[next % targets.length]!
    next = (next + 1) % Math.max(1, targets.length)
    const upstream = connect(target.port, target.host ?? '127.0.0.1')
    sockets.add(upstream)
    upstream.setNoDelay(true)
    let connected = false
    upstream.once('connect', () => {
      connected = true
      accepted.set(keyOf(target), (accepted.get(keyOf(target)) ?? 0) + 1)
      client.pipe(upstream)
      upstream.pipe(client)
      client.resume()
    })
    upstream.on('error', () => {
      // Refused before it connected: the next backend gets the client; after, the link is gone.
      if (!connected && !client.destroyed) pipe(client, tried + 1)
      else client.destroy()
    })
    upstream.on('close', () => {
      sockets.delete(upstream)
      if (connected) client.destroy()
    })
    client.on('close', () => upstream.destroy())
  }

  const server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client)
    client.setNoDelay(true)
    client.on('error', () => client.destroy())
    client.on('close', () => sockets.delete(client))
    pipe(client, 0)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    accepted,
    get open() {
      let count = 0
      for (const socket of sockets) if (socket.remotePort !== undefined && socket.localPort === port) count++
      return count
    },
    setTargets(list) {
      targets = [...list]
    },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
