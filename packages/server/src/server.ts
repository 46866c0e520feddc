import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { type StorageAdapter, TidingsError } from '@tidings/core'
import { type WebSocket, WebSocketServer } from 'ws'
import { Committer } from './commit.js'
import { TidingsConnection } from './connection.js'
import { Conversations } from './conversations.js'
import { DeviceOwners } from './device-owners.js'
import { DocStore } from './docs.js'
import { type Authenticate, forward, type Hub, pushManifest } from './hub.js'
import { type Limits, resolveLimits } from './limits.js'
import { type Logger, type LogLevel, serverLogger } from './logs.js'
import { ServerMetrics } from './metrics.js'
import { ByteBudget, UserConnections, UserSubscriptions } from './quotas.js'
import { RefusalLedger } from './refusals.js'
import { answerReport } from './reports.js'
import {
  applyPolicy,
  applyRetention,
  type RetentionDays,
  retentionLimit,
  setRetainedFrom,
} from './retention.js'
import { YConnection } from './y-websocket.js'

/** Options of `createServer`. */
export interface ServerOptions {
  /** Port to listen on; 0 picks a free one (`server.port` tells which). */
  readonly port: number
  /** Interface to listen on (default 127.0.0.1; use 0.0.0.0 to accept remote clients). */
  readonly host?: string
  /** Where docs, bindings and manifests live (default: SQLite in `${dataDir}/tidings.db`). */
  readonly storage?: StorageAdapter
  /** Folder of the default SQLite storage (default ./data). */
  readonly dataDir?: string
  /** Who a token is, and whether it may write a conversation. */
  readonly authenticate: Authenticate
  readonly limits?: Partial<Limits>
  /** A doc nobody used for this long is unloaded from memory (default 30 s). */
  readonly docIdleMs?: number
  /** Compact a doc's stored rows at unload when it has at least this many (default 100). */
  readonly compactAfter?: number
  /** Keep this many days of messages: for every conversation, or per conversation. */
  readonly retentionDays?: RetentionDays
  /** How often the retention policy is applied to open conversations (default 1 h). */
  readonly retentionCheckMs?: number
  /** The server's clock, injectable for tests. */
  readonly now?: () => number
  /**
   * Where internal errors go (never refusals, which go to the client); default: the logger at
   * `error` when one is given (`logger` or `logLevel`), console.error otherwise.
   */
  readonly onError?: (error: unknown) => void
  /** A pino logger for the server's structured logs (start, connections, refusals, slow commits). */
  readonly logger?: Logger
  /**
   * The level of `logger`, or of a pino logger on stdout when none is given. Without either the
   * server logs nothing (`silent`), so an embedded server or a test stays quiet.
   */
  readonly logLevel?: LogLevel
  /** A group commit whose storage write takes longer than this is logged at `warn` (default 250 ms). */
  readonly slowCommitMs?: number
  /**
   * Accept the permessage-deflate extension when a client offers it (browsers and `ws` do), so
   * frames of at least 1 KiB (sync answers, backlogs) travel deflated. Default false: it costs
   * server CPU and a zlib context per connection; see the README for the measured trade.
   */
  readonly perMessageDeflate?: boolean
  /**
   * Answers plain HTTP requests (WebSocket upgrades never reach it), e.g. to serve a web app on
   * the sync port. `GET /health` and `GET /metrics` are answered before it. Without it every other
   * plain request gets 404.
   */
  readonly request?: (request: IncomingMessage, response: ServerResponse) => void
}

/** A running server, from `createServer`. */
export interface TidingsServer {
  /** The port the server listens on. */
  readonly port: number
  /** `ws://host:port`: the Tidings protocol at `/`, y-websocket at `/y/<docName>`. */
  readonly url: string
  /** Moves a conversation's `retainedFrom` forward and drops the period docs wholly before it. */
  setRetainedFrom(conversation: string, wall: number): Promise<void>
  /** Resolves when every queued update is committed, acked and forwarded. */
  idle(): Promise<void>
  /** Closes every connection (1001), finishes pending commits, and stops listening. */
  close(): Promise<void>
}

const defaultStorage = async (dataDir: string): Promise<StorageAdapter> => {
  // Loaded lazily: a server on another storage never needs better-sqlite3.
  const { sqliteStorage } = await import('@tidings/storage-sqlite')
  return sqliteStorage({ path: `${dataDir}/tidings.db` })
}

const refuseUpgrade = (socket: Socket, status: string): void => {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

const notFound = (_request: IncomingMessage, response: ServerResponse): void => {
  response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
}

/** How long `close()` waits for clients to answer its close frame before cutting their sockets. */
const CLOSE_GRACE_MS = 2000

/** Starts a Tidings sync server; resolves once it listens. */
export const createServer = async (options: ServerOptions): Promise<TidingsServer> => {
  const ownStorage = options.storage === undefined
  const storage = options.storage ?? (await defaultStorage(options.dataDir ?? './data'))
  const limits = resolveLimits(options.limits)
  const now = options.now ?? Date.now
  const log = serverLogger(options.logger, options.logLevel)
  const logging = options.logger !== undefined || options.logLevel !== undefined
  const report =
    options.onError ??
    (logging
      ? (error: unknown) => log.error({ err: error }, 'internal error')
      : (error: unknown) => console.error('[tidings-server]', error))
  const docIdleMs = options.docIdleMs ?? 30_000
  const slowCommitMs = options.slowCommitMs ?? 250
  let lastWriteOk = true
  const docs = new DocStore({
    unloaded: (doc, rows, compacted) => log.debug({ doc, rows, compacted }, 'doc unloaded'),
    storage,
    idleMs: docIdleMs,
    compactAfter: options.compactAfter ?? 100,
    now,
    report,
  })
  // The callbacks below reach the hub lazily: they only run once the server is up.
  const conversations = new Conversations({
    storage,
    docs,
    maxAwarenessClients: limits.maxAwarenessClients,
    now,
    opened: (state) => applyPolicy(hub, options.retentionDays, state),
  })
  const committer = new Committer({
    storage,
    docs,
    conversations,
    maxStructs: limits.maxStructs,
    maxDocsAhead: limits.maxDocsAhead,
    newDocsPerMinute: limits.newDocsPerMinute,
    userNewDocsPerMinute: limits.userNewDocsPerMinute,
    waitMs: limits.dependencyWaitMs,
    maxWaiting: limits.maxWaiting,
    now,
    report,
    forward: (job, state) => forward(hub, job, state),
    pushManifest,
    retentionLimit: (conversation) => retentionLimit(options.retentionDays, conversation, now()),
    retentionRose: (state) => void committer.run(() => applyRetention(hub, state)).catch(report),
    committed: (seconds, ok, updates) => {
      lastWriteOk = ok
      metrics.committed(seconds, ok)
      if (seconds * 1000 > slowCommitMs)
        log.warn({ ms: Math.round(seconds * 1000), updates, ok }, 'slow commit')
    },
  })
  const metrics = new ServerMetrics({
    connections: () => hub.connections.size,
    subscriptions: () => {
      let count = 0
      for (const state of hub.conversations.all()) count += state.subscribers.size
      return count
    },
    docsLoaded: () => docs.loaded().length,
    queuedBytes: () => hub.outgoing.used,
  })
  const hub: Hub = {
    storage,
    docs,
    conversations,
    committer,
    outgoing: new ByteBudget(limits.maxTotalQueuedBytes),
    userConnections: new UserConnections(limits.maxConnectionsPerUser),
    userSubscriptions: new UserSubscriptions(limits.maxSubscriptions),
    limits,
    authenticate: options.authenticate,
    devices: new DeviceOwners(storage),
    now,
    report,
    log,
    metrics,
    rooms: new Map(),
    roomAwareness: new Map(),
    refusals: new RefusalLedger(limits.maxRefusals),
    connections: new Set(),
    closing: false,
    unauthenticated: 0,
  }

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxPayload,
    perMessageDeflate: options.perMessageDeflate ?? false,
  })
  /** Sets up a connection; a failure closes that socket and nothing else. */
  const accept = (ws: WebSocket, open: () => void) => {
    try {
      open()
    } catch (error) {
      report(error)
      ws.terminate()
    }
  }
  const answer = options.request ?? notFound
  const reports = {
    metrics,
    up: () => !hub.closing,
    lastWriteOk: () => lastWriteOk,
    dataDir: ownStorage ? (options.dataDir ?? './data') : undefined,
    docsLoaded: () => docs.loaded().length,
    connections: () => hub.connections.size,
  }
  const http = createHttpServer((request, response) => {
    try {
      if (answerReport(reports, request, response, report)) return
      answer(request, response)
    } catch (error) {
      // The app's handler failing must not take the sync server down with it.
      report(error)
      if (!response.headersSent) response.writeHead(500)
      response.end()
    }
  })
  http.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    try {
      if (hub.closing) return refuseUpgrade(socket, '503 Service Unavailable')
      // Each may buffer up to `maxPayload` of an unfinished frame before anyone knows who it is.
      if (hub.unauthenticated >= limits.maxUnauthenticated)
        return refuseUpgrade(socket, '503 Service Unavailable')
      const url = new URL(request.url ?? '/', 'http://localhost')
      const remote = socket.remoteAddress ?? ''
      if (url.pathname === '/') {
        wss.handleUpgrade(request, socket, head, (ws) =>
          accept(ws, () => new TidingsConnection(hub, ws, remote)),
        )
        return
      }
      if (!url.pathname.startsWith('/y/')) return refuseUpgrade(socket, '404 Not Found')
      let name: string
      try {
        name = decodeURIComponent(url.pathname.slice(3))
      } catch {
        return refuseUpgrade(socket, '400 Bad Request')
      }
      const token = url.searchParams.get('token')
      if (!name || name.length > 512) return refuseUpgrade(socket, '400 Bad Request')
      if (!token) return refuseUpgrade(socket, '401 Unauthorized')
      const device = url.searchParams.get('device') || null
      if (device !== null && !/^[a-z0-9]{4,32}$/.test(device)) return refuseUpgrade(socket, '400 Bad Request')
      wss.handleUpgrade(request, socket, head, (ws) =>
        accept(ws, () => new YConnection(hub, ws, name, token, device, remote)),
      )
    } catch (error) {
      report(error)
      socket.destroy()
    }
  })
  http.on('clientError', (_error, socket) => socket.destroy())

  await new Promise<void>((resolve, reject) => {
    http.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') return reject(error)
      const where = `${options.host ?? '127.0.0.1'}:${options.port}`
      const why = error.code === 'EADDRINUSE' ? 'is in use' : 'needs privileges this process lacks'
      reject(
        new TidingsError(
          'server/address-in-use',
          `Port ${where} ${why}: stop what holds it, or pick another port (port 0 picks a free one).`,
          { cause: error },
        ),
      )
    })
    http.listen(options.port, options.host ?? '127.0.0.1', () => {
      http.off('error', reject)
      resolve()
    })
  })
  const { port, address } = http.address() as AddressInfo
  const shown = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address
  const url = `ws://${shown.includes(':') ? `[${shown}]` : shown}:${port}`
  const storageName = ownStorage ? `sqlite:${options.dataDir ?? './data'}/tidings.db` : 'custom'
  log.info({ port, url, storage: storageName }, 'listening')

  const sweep = setInterval(
    () => {
      try {
        docs.sweep()
        hub.refusals.sweep()
        for (const [name, room] of hub.roomAwareness) {
          // Kept a while after the last peer left, so a reconnecting owner finds its awareness ids.
          if (room.idleFor() < docIdleMs) continue
          room.destroy()
          hub.roomAwareness.delete(name)
        }
        // Between commits: a round in flight still holds its conversation's state.
        committer
          .run(async () =>
            hub.conversations.sweep(docIdleMs, (state) =>
              [...hub.rooms.keys()].some((doc) => doc.startsWith(`${state.id}/`)),
            ),
          )
          .catch(report)
      } catch (error) {
        report(error)
      }
    },
    Math.max(50, Math.min(docIdleMs, 30_000) / 2),
  )
  sweep.unref()
  const retention = setInterval(
    () => {
      for (const state of hub.conversations.all()) applyPolicy(hub, options.retentionDays, state)
    },
    options.retentionCheckMs ?? 60 * 60 * 1000,
  )
  retention.unref()

  let closed: Promise<void> | undefined
  return {
    port,
    url,
    setRetainedFrom: (conversation, wall) => setRetainedFrom(hub, conversation, wall),
    idle: () => hub.committer.idle(),
    close: () => {
      closed ??= (async () => {
        hub.closing = true
        log.info({ connections: hub.connections.size }, 'shutting down')
        clearInterval(sweep)
        clearInterval(retention)
        for (const connection of [...hub.connections]) connection.close(1001, 'server shutdown')
        await hub.committer.idle()
        hub.committer.close()
        // A peer that never answers the close frame (a half-open link) would hold close() for the
        // 30 s ws gives a closing handshake: after a short grace such sockets are cut.
        const sockets = new Promise<void>((resolve) => wss.close(() => resolve()))
        const grace = setTimeout(() => {
          for (const socket of wss.clients) socket.terminate()
        }, CLOSE_GRACE_MS)
        await sockets
        clearTimeout(grace)
        http.closeAllConnections()
        await new Promise<void>((resolve) => http.close(() => resolve()))
        hub.conversations.close()
        for (const room of hub.roomAwareness.values()) room.destroy()
        docs.close()
        metrics.close()
        if (ownStorage) await storage.close()
        log.info({ port }, 'stopped')
      })()
      return closed
    },
  }
}
