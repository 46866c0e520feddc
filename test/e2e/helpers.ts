import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Client,
  type ConnectionState,
  type Conversation,
  createClient,
  memoryStorage,
  type StorageAdapter,
  type Timers,
} from '@tidings/core'
import { type Authenticate, createServer, type TidingsServer } from '@tidings/server'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { type FaultyProxy, type FaultyProxyOptions, faultyProxy } from '@tidings/testing'
import { type WebsocketTransport, websocketTransport } from '@tidings/transport-websocket'
import { afterEach } from 'vitest'
import WebSocket from 'ws'

export { fakeTime } from '../support/fake-time.js'

/** Cleanups by phase: clients close before the proxies and servers they talk to, dirs go last. */
const cleanups = { clients: [], proxies: [], servers: [], dirs: [] } as Record<
  'clients' | 'proxies' | 'servers' | 'dirs',
  (() => Promise<void> | void)[]
>

afterEach(async () => {
  for (const phase of ['clients', 'proxies', 'servers', 'dirs'] as const) {
    await Promise.all(cleanups[phase].splice(0).map((fn) => fn()))
  }
})

/** A fresh temporary folder, removed after the test. */
export const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-e2e-'))
  cleanups.dirs.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Token `t-<user>` is `<user>`, who may write every conversation. */
export const authenticate: Authenticate = (token) =>
  token.startsWith('t-') ? { userId: token.slice(2), canWrite: true } : null

export interface ServerSetup {
  /** Folder of the server's own SQLite storage; memory storage without it. */
  readonly dataDir?: string
  /** The server's storage, for a test that inspects what it stored (instead of `dataDir`). */
  readonly storage?: StorageAdapter
  /** A fixed port (to restart a server where its clients expect it); default 0. */
  readonly port?: number
  /** The server's clock (stamps beyond it + MAX_DRIFT are refused with `clock/skew`); default Date.now. */
  readonly now?: () => number
}

/** A real server on 127.0.0.1, closed after the test (closing twice is harmless). */
export const startServer = async (
  setup: ServerSetup = {},
): Promise<TidingsServer & { readonly errors: unknown[] }> => {
  const errors: unknown[] = []
  const server = await createServer({
    port: setup.port ?? 0,
    host: '127.0.0.1',
    authenticate,
    ...(setup.dataDir ? { dataDir: setup.dataDir } : { storage: setup.storage ?? memoryStorage() }),
    ...(setup.now ? { now: setup.now } : {}),
    onError: (error) => errors.push(error),
  })
  cleanups.servers.push(() => server.close())
  // Internal errors only: refusals go to the clients. A test expects none.
  return Object.assign(server, { errors })
}

/** A faulty TCP proxy in front of `server`, closed after the test. */
export const proxyTo = async (
  server: TidingsServer,
  options: Omit<FaultyProxyOptions, 'target'> = {},
): Promise<FaultyProxy> => {
  const proxy = await faultyProxy({ ...options, target: server })
  cleanups.proxies.push(() => proxy.close())
  return proxy
}

export interface DeviceSetup {
  /** SQLite file of the client; memory storage without it. */
  readonly path?: string
  readonly pingInterval?: number
  readonly pingTimeout?: number
  readonly receiptDelay?: number
  /** Length of the period docs the client creates. */
  readonly periodMs?: number
  /** The client's physical clock. */
  readonly now?: () => number
  /** The transport's clock too (pings and the server offset): a whole device whose clock jumps. */
  readonly linkNow?: () => number
  /** The client's timers (receipts, presence); the transport keeps real ones. */
  readonly timers?: Timers
}

export interface Device {
  readonly client: Client
  readonly transport: WebsocketTransport
  readonly storage: StorageAdapter
  /** Every connection state the client reported, with the time it came. */
  readonly states: { state: ConnectionState; at: number }[]
  /** The code of every error the client reported. */
  readonly errors: string[]
  /** Drops the link and stays offline (the transport's `disconnect`). */
  offline(): void
  /** Connects again as the same device. */
  online(): void
  close(): Promise<void>
}

/** A core client on a websocket transport to `url`, closed after the test. */
export const device = (url: string, user: string, setup: DeviceSetup = {}): Device => {
  const transport = websocketTransport({
    url,
    token: `t-${user}`,
    WebSocket,
    pingInterval: setup.pingInterval ?? 1000,
    pingTimeout: setup.pingTimeout ?? 5000,
    // Short waits: a test that restarts the server should not wait out a 30 s backoff.
    backoff: { base: 50, cap: 500 },
    ...(setup.linkNow ? { now: setup.linkNow } : {}),
  })
  const storage = setup.path ? sqliteStorage({ path: setup.path }) : memoryStorage()
  const client = createClient({
    user,
    storage,
    transport,
    receiptDelay: setup.receiptDelay ?? 0,
    ...(setup.periodMs ? { periodMs: setup.periodMs } : {}),
    ...(setup.now ? { clock: { now: setup.now } } : {}),
    ...(setup.timers ? { timers: setup.timers } : {}),
  })
  const states: Device['states'] = []
  client.on('connection', (state) => states.push({ state, at: performance.now() }))
  const errors: string[] = []
  client.on('error', (error) => errors.push(error.code))
  const close = () => client.close()
  cleanups.clients.push(close)
  return {
    client,
    transport,
    storage,
    states,
    errors,
    offline: () => transport.disconnect(),
    online: () => transport.connect({ user, device: client.device! }),
    close,
  }
}

/** A device whose clock, client and transport alike, can jump: `clock.skew` is read at every call. */
export const jumpingDevice = (url: string, user: string, clock = { skew: 0 }) => {
  const now = () => Date.now() + clock.skew
  return { ...device(url, user, { now, linkNow: now }), clock }
}

/** What a wait re-checks on: conversation changes, client connection events. */
export type Watched = Conversation | Client

// A client's subscribe covers its connection events.
const listen = (watched: Watched, fn: () => void): (() => void) => watched.subscribe(fn)

/**
 * Resolves once `predicate` holds. It is checked after every change of the watched conversations
 * and clients, and every `interval` ms (default 10) besides; past `timeout` the wait fails, naming `what`.
 */
export const waitFor = (
  predicate: () => boolean,
  what: string,
  options: { watch?: readonly Watched[]; timeout?: number; interval?: number } = {},
): Promise<void> => {
  const { watch = [], timeout = 15_000, interval = 10 } = options
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const stops: (() => void)[] = []
    const finish = (error?: Error) => {
      clearInterval(poll)
      for (const stop of stops) stop()
      if (error) reject(error)
      else resolve()
    }
    const check = () => {
      let ok = false
      try {
        ok = predicate()
      } catch (error) {
        return finish(error as Error)
      }
      if (ok) finish()
      else if (performance.now() - started > timeout)
        finish(new Error(`timed out after ${timeout} ms waiting for ${what}`))
    }
    const poll = setInterval(check, interval)
    for (const w of watch) stops.push(listen(w, check))
    check()
  })
}

/** Message ids in display order. */
export const ids = (c: Conversation): string[] => c.messages().map((m) => m.id)

/** Statuses in display order. */
export const statuses = (c: Conversation): string[] => c.messages().map((m) => m.status)

/** Waits until every conversation shows the same ids in the same order, `count` of them. */
export const converged = (conversations: readonly Conversation[], count: number, timeout?: number) =>
  waitFor(
    () => {
      const first = ids(conversations[0]!)
      return first.length === count && conversations.every((c) => ids(c).join() === first.join())
    },
    `${conversations.length} replicas with the same ${count} messages`,
    { watch: conversations, ...(timeout ? { timeout } : {}) },
  )

/** A message body of about `size` bytes. */
export const body = (label: string, size = 100): { text: string } => ({
  text: `${label} `.padEnd(size, '.'),
})
