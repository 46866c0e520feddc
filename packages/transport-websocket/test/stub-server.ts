import type { AddressInfo } from 'node:net'
import { decodeFrame, encodeFrame, type Frame, type FrameOf } from '@tidings/protocol'
import { type WebSocket, WebSocketServer } from 'ws'
import { applyUpdate, Doc, encodeStateAsUpdate, encodeStateVector } from 'yjs'
import type { Traffic } from '../../../test/support/traffic.js'

/**
 * Just enough of the Tidings server for transport tests (docs/protocol.md): auth/welcome,
 * subscribe/manifest, sync answered from Y.Docs, update → ack + forward, awareness relayed, ping/pong. No checks
 * beyond the token: the real server lives in packages/server.
 */
export interface StubOptions {
  /** Tokens other than this are refused (default: any token is accepted). */
  token?: string
  /**
   * Who a token signs in as (the client checks the welcome names its own user). Default: the
   * letters of a test device id such as `alice0001`, else the token itself.
   */
  userOf?: (token: string, device: string) => string
  /** Added to the server's clock in welcome and pong. */
  clockSkew?: number
  /** Decides whether an update is refused; return an error code to refuse it. */
  refuse?: (frame: FrameOf<'update'>) => string | undefined
  /** Sees every keyed update on arrival, after its bytes count as unacknowledged. */
  observe?: (conn: StubConnection, frame: FrameOf<'update'>) => void
  /** When set, each ack waits this many ms (called per ack). */
  ackDelay?: () => number
  traffic?: Traffic
}

export interface StubConnection {
  readonly id: number
  readonly url: string
  readonly socket: WebSocket
  readonly frames: Frame[]
  readonly subscriptions: Map<string, number>
  /** Refs received and not yet acked, with their update sizes. */
  readonly unacked: Map<number, number>
  authed: boolean
  silent: boolean
  /** Pings go unanswered (everything else still flows). */
  noPong: boolean
}

export interface Stub {
  readonly url: string
  readonly docs: Map<string, Doc>
  readonly connections: StubConnection[]
  /** Every frame received, in arrival order, with the connection it came on. */
  readonly log: { readonly connection: number; readonly frame: Frame }[]
  /** When false, acks wait until `releaseAcks`. */
  autoAck: boolean
  /** Most update bytes ever unacknowledged on one connection. */
  readonly maxUnacked: number
  releaseAcks(): void
  /** Sends any frame to a connection. */
  push(conn: StubConnection, frame: Frame): void
  /** Current connections stop answering and reading, but keep their sockets open. */
  silence(): void
  close(): Promise<void>
}

export const startStub = async (options: StubOptions = {}): Promise<Stub> => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  const docs = new Map<string, Doc>()
  // Per conversation, the docs in creation order: the manifest version is the count.
  const created = new Map<string, string[]>()
  const connections: StubConnection[] = []
  const log: Stub['log'] = []
  const now = () => Date.now() + (options.clockSkew ?? 0)
  const userOf =
    options.userOf ?? ((token: string, device: string) => /^([a-z]+)\d+$/.exec(device)?.[1] ?? token)
  let maxUnacked = 0

  const send = (conn: StubConnection, frame: Frame) => {
    if (conn.silent || conn.socket.readyState !== conn.socket.OPEN) return
    options.traffic?.serverSent(conn.url)
    conn.socket.send(encodeFrame(frame))
  }
  const manifest = (conn: StubConnection, conversation: string, since: number) => {
    const list = created.get(conversation) ?? []
    const full = since === 0 || since > list.length
    const changes = (full ? list : list.slice(since)).map((doc) => ({ doc, dropped: false }))
    conn.subscriptions.set(conversation, list.length)
    send(conn, {
      type: 'manifest',
      conversation,
      since: full ? 0 : since,
      version: list.length,
      full,
      retainedFrom: 0,
      changes,
    })
  }
  const docFor = (name: string): Doc => {
    let doc = docs.get(name)
    if (!doc) {
      doc = new Doc({ guid: name })
      docs.set(name, doc)
      const conversation = name.slice(0, name.indexOf('/'))
      const list = created.get(conversation) ?? []
      created.set(conversation, [...list, name])
      for (const conn of connections) {
        const since = conn.subscriptions.get(conversation)
        if (since !== undefined) manifest(conn, conversation, since)
      }
    }
    return doc
  }
  const ack = (conn: StubConnection, refs: number[]) => {
    for (const ref of refs) conn.unacked.delete(ref)
    send(conn, { type: 'ack', refs })
  }
  const receiveUpdate = (conn: StubConnection, doc: string, update: Uint8Array, ref: number) => {
    const conversation = doc.slice(0, doc.indexOf('/'))
    if (ref !== 0) {
      conn.unacked.set(ref, update.length)
      let total = 0
      for (const bytes of conn.unacked.values()) total += bytes
      maxUnacked = Math.max(maxUnacked, total)
      options.observe?.(conn, { type: 'update', doc, ref, update })
      const code = options.refuse?.({ type: 'update', doc, ref, update })
      if (code) {
        conn.unacked.delete(ref)
        send(conn, { type: 'error', doc, code, reason: `the stub refuses: ${code}`, ref })
        return
      }
    }
    try {
      applyUpdate(docFor(doc), update)
    } catch {
      send(conn, { type: 'error', doc, code: 'protocol/malformed', reason: 'unreadable update', ref })
      return
    }
    for (const other of connections) {
      if (other !== conn && other.subscriptions.has(conversation))
        send(other, { type: 'update', doc, ref: 0, update })
    }
    if (ref === 0 || !stub.autoAck) return
    const delay = options.ackDelay?.()
    if (delay === undefined) ack(conn, [ref])
    else setTimeout(() => ack(conn, [ref]), delay)
  }
  const receive = (conn: StubConnection, frame: Frame) => {
    if (!conn.authed) {
      if (frame.type !== 'auth' || (options.token !== undefined && frame.token !== options.token)) {
        send(conn, { type: 'error', doc: '', code: 'auth/denied', reason: 'bad token', ref: 0 })
        conn.socket.close(4401)
        return
      }
      conn.authed = true
      send(conn, { type: 'welcome', user: userOf(frame.token, frame.device), serverTime: now() })
      return
    }
    switch (frame.type) {
      case 'subscribe':
        return manifest(conn, frame.conversation, frame.version)
      case 'unsubscribe':
        conn.subscriptions.delete(frame.conversation)
        return
      case 'sync-step1': {
        const doc = docs.get(frame.doc) ?? new Doc()
        send(conn, {
          type: 'sync-step2',
          doc: frame.doc,
          update: encodeStateAsUpdate(doc, frame.stateVector),
        })
        send(conn, { type: 'sync-step1', doc: frame.doc, stateVector: encodeStateVector(doc) })
        return
      }
      case 'sync-step2':
        return receiveUpdate(conn, frame.doc, frame.update, 0)
      case 'update':
        return receiveUpdate(conn, frame.doc, frame.update, frame.ref)
      case 'awareness':
        // Relayed as it came: stamping and clearing are the real server's (packages/server).
        for (const other of connections)
          if (other !== conn && other.subscriptions.has(frame.conversation)) send(other, frame)
        return
      case 'ping':
        if (conn.noPong) return
        return send(conn, { type: 'pong', time: frame.time, serverTime: now() })
      default:
        return
    }
  }

  wss.on('connection', (socket, request) => {
    const url = request.url ?? '/'
    const conn: StubConnection = {
      id: connections.length + 1,
      url,
      socket,
      frames: [],
      subscriptions: new Map(),
      unacked: new Map(),
      authed: false,
      silent: false,
      noPong: false,
    }
    connections.push(conn)
    options.traffic?.serverOpened(url)
    socket.on('message', (data) => {
      options.traffic?.serverReceived(url)
      if (conn.silent) return
      const frame = decodeFrame(new Uint8Array(data as Buffer))
      conn.frames.push(frame)
      log.push({ connection: conn.id, frame })
      receive(conn, frame)
    })
    socket.on('close', () => {
      options.traffic?.serverClosed(url)
      connections.splice(connections.indexOf(conn), 1)
    })
  })

  const stub: Stub = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    docs,
    connections,
    log,
    autoAck: true,
    get maxUnacked() {
      return maxUnacked
    },
    releaseAcks() {
      for (const conn of connections) if (conn.unacked.size > 0) ack(conn, [...conn.unacked.keys()])
    },
    push: send,
    silence() {
      for (const conn of connections) conn.silent = true
    },
    close: async () => {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
  return stub
}
