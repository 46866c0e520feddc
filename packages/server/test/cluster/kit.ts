import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { type AddressInfo, connect, createServer as createNetServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { StorageAdapter } from '@tidings/core'
import { redisFanout } from '@tidings/fanout-redis'
import { postgresStorage } from '@tidings/storage-postgres'
import pg from 'pg'
import { afterEach } from 'vitest'
import { createServer, type ServerOptions, type TidingsServer } from '../../src/index.js'
import { authenticate } from '../helpers.js'

export const PG_URL = process.env.TIDINGS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env.TIDINGS_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** True when something accepts a TCP connection at the URL's host and port. */
export const reachable = (url: string, defaultPort: number): Promise<boolean> =>
  new Promise((resolve) => {
    const { hostname, port } = new URL(url)
    const socket = connect(Number(port || defaultPort), hostname)
    socket.setTimeout(1000)
    socket.once('connect', () => {
      socket.end()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })

/** Why the cluster tests cannot run here, or undefined when PostgreSQL and Redis both answer. */
export const missingBackends = async (what: string): Promise<string | undefined> => {
  const [pgUp, redisUp] = await Promise.all([reachable(PG_URL, 5432), reachable(REDIS_URL, 6379)])
  const missing = [
    ...(pgUp ? [] : [`no PostgreSQL at ${PG_URL} (TIDINGS_PG_URL)`]),
    ...(redisUp ? [] : [`no Redis at ${REDIS_URL} (TIDINGS_REDIS_URL)`]),
  ]
  if (missing.length === 0) return undefined
  const reason = `[${what}] skipped: ${missing.join(', ')}`
  console.warn(reason)
  return reason
}

const cleanups: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/** Runs after the test, after everything registered later. */
export const later = (fn: () => Promise<unknown> | unknown): void => {
  cleanups.push(fn)
}

/** A cluster's isolation: a fresh PostgreSQL schema and a Redis channel prefix, dropped after the test. */
export interface Isolation {
  readonly schema: string
  readonly prefix: string
}

export const isolation = (): Isolation => {
  const id = randomBytes(5).toString('hex')
  const isolated = { schema: `cluster_${id}`, prefix: `test:${id}:` }
  later(async () => {
    const client = new pg.Client({ connectionString: PG_URL })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS ${isolated.schema} CASCADE`)
    await client.end()
  })
  return isolated
}

/** A storage handle on the isolation's schema: its own pool, as another process would have. */
export const sharedStorage = (isolated: Isolation): StorageAdapter => {
  const storage = postgresStorage({ url: PG_URL, schema: isolated.schema })
  later(() => storage.close())
  return storage
}

/**
 * One server of a cluster in this process: its own PostgreSQL pool and its own Redis connections,
 * so it shares with the others exactly what separate processes share.
 */
export const startNode = async (
  isolated: Isolation,
  options: Partial<ServerOptions> = {},
): Promise<TidingsServer & { storage: StorageAdapter }> => {
  const storage = sharedStorage(isolated)
  const server = await createServer({
    port: 0,
    authenticate,
    onError: (error) => console.error('[cluster node]', error),
    storage,
    fanout: redisFanout({ url: REDIS_URL, prefix: isolated.prefix }),
    ...options,
  })
  // Before its storage closes (registered earlier, so it runs later).
  later(() => server.close())
  return Object.assign(server, { storage })
}

/** A server process of a cluster test, started with `spawnNode`. */
export interface NodeProcess {
  readonly port: number
  readonly url: string
  readonly pid: number
  /** `kill -9`: no close frame, no flush, no goodbye. */
  kill(): void
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>
}

/** Starts a server process on the isolation's schema and prefix; stopped after the test. */
export const spawnNode = async (isolated: Isolation, redisUrl = REDIS_URL): Promise<NodeProcess> => {
  const script = fileURLToPath(new URL('./node-process.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: {
      ...process.env,
      TIDINGS_PG_URL: PG_URL,
      TIDINGS_REDIS_URL: redisUrl,
      CLUSTER_SCHEMA: isolated.schema,
      CLUSTER_PREFIX: isolated.prefix,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  later(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  })
  const port = await new Promise<number>((resolve, reject) => {
    let text = ''
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      const line = text.split('\n').find((l) => l.startsWith('{'))
      if (line) resolve((JSON.parse(line) as { port: number }).port)
    })
    exited.then((code) => reject(new Error(`the node process exited (${code}) before it listened`)))
  })
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    pid: child.pid!,
    kill: () => child.kill('SIGKILL'),
    exited,
  }
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createNetServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })

/** A redis-server of the test's own on `port`, that the test can kill and start again. */
export interface OwnRedis {
  readonly url: string
  /** Kills it (-9) and waits for the exit. */
  kill(): Promise<void>
  /** Starts it again on the same port; resolves once it answers. */
  start(): Promise<void>
}

/** Whether a `redis-server` binary is on the PATH. */
export const hasRedisServer = (): boolean => spawnSync('redis-server', ['--version']).status === 0

export const ownRedis = async (): Promise<OwnRedis> => {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  const start = async () => {
    const started = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    child = started
    const deadline = performance.now() + 10_000
    while (!(await reachable(url, port))) {
      if (performance.now() > deadline) throw new Error(`redis-server did not start on ${port}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  const kill = async () => {
    const running = child
    if (!running || running.exitCode !== null || running.signalCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGKILL')
    await exited
  }
  await start()
  later(kill)
  return { url, kill, start }
}
