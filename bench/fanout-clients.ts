import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import {
  type ConversationId,
  conversationId,
  createClient,
  deviceId,
  memoryStorage,
  parseDocName,
} from '@tidings/core'
import { websocketTransport } from '@tidings/transport-websocket'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { FANOUT_ROOM, type FanoutPeer } from './fanout-server.js'

/** Told of each message a receiver got: which receiver, which message. */
export type Delivered = (receiver: number, i: number) => void

/** One sender and `receivers` receiving clients of one peer, all in this process. */
export interface FanoutClients {
  /** Sends message `i` from the sender; resolves once the sender has taken it. */
  send(i: number): Promise<unknown> | undefined
  /** Payload bytes received over all receivers (the frames' update or message bytes). */
  readonly receivedBytes: number
  close(): Promise<void>
}

export interface ConnectOptions {
  readonly url: string
  readonly receivers: number
  /** Bytes of each raw `ws` or Hocuspocus message; Tidings' own size is measured instead. */
  readonly payloadBytes: number
  readonly delivered: Delivered
}

/** The text of every message: a chat line of about a hundred characters. */
export const FANOUT_TEXT =
  'Pallets 3-7 are loaded; the driver leaves dock 4 at 14:00, so sign the papers before then please.'

/** A message `i` as JSON of exactly `bytes` characters (or its shortest form when that is longer). */
export const paddedJson = (i: number, bytes: number): string => {
  const bare = JSON.stringify({ i, text: FANOUT_TEXT, pad: '' })
  return JSON.stringify({ i, text: FANOUT_TEXT, pad: 'x'.repeat(Math.max(0, bytes - bare.length)) })
}

/**
 * Tidings: the sender is a full client (`convo.send`, memoryStorage); each receiver is the real
 * websocket transport, whose updates are applied to a Y.Doc per doc as a client would, and a
 * message counts as received when its key appears in the lane doc's map.
 */
const connectTidings = async (options: ConnectOptions): Promise<FanoutClients> => {
  const { url, receivers, delivered } = options
  const room: ConversationId = conversationId(FANOUT_ROOM)
  let receivedBytes = 0
  const transports = Array.from({ length: receivers }, (_, r) => {
    const transport = websocketTransport({ url, token: `r${r}`, WebSocket: WebSocket as never })
    const docs = new Map<string, Y.Doc>()
    const synced = new Promise<void>((resolve) => transport.on('synced', () => resolve()))
    transport.on('update', ({ doc: name, update }) => {
      let doc = docs.get(name)
      if (!doc) {
        doc = new Y.Doc()
        docs.set(name, doc)
        if (parseDocName(name)?.kind === 'normal') {
          const map = doc.getMap<{ body: { i: number } }>('m')
          map.observe((event) => {
            for (const key of event.keysChanged) {
              const value = map.get(key)
              if (value) delivered(r, value.body.i)
            }
          })
        }
      }
      if (parseDocName(name)?.kind === 'normal') receivedBytes += update.length
      Y.applyUpdate(doc, update)
    })
    transport.connect({ user: `r${r}`, device: deviceId(`receiver${r}`) })
    transport.subscribe(room, async () =>
      [...docs].map(([doc, y]) => ({ doc, stateVector: Y.encodeStateVector(y) })),
    )
    return { transport, synced }
  })
  const client = createClient({
    user: 'sender',
    storage: memoryStorage(),
    // The pace a client keeps under the server's per-connection rate limit is lifted with it.
    transport: websocketTransport({
      url,
      token: 'sender',
      WebSocket: WebSocket as never,
      maxFramesPerSecond: Number.POSITIVE_INFINITY,
    }),
  })
  const convo = await client.open(FANOUT_ROOM)
  await Promise.all([client.whenSynced(), ...transports.map((t) => t.synced)])
  return {
    send: (i) => convo.send({ text: FANOUT_TEXT, i }),
    get receivedBytes() {
      return receivedBytes
    },
    close: async () => {
      await client.close()
      await Promise.all(transports.map((t) => t.transport.close()))
    },
  }
}

const opened = (socket: WebSocket) =>
  new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
  })

/** Raw `ws`: the sender sends JSON text, each receiver parses what it gets. */
const connectRawWs = async (options: ConnectOptions): Promise<FanoutClients> => {
  const { url, receivers, payloadBytes, delivered } = options
  let receivedBytes = 0
  const sockets = Array.from({ length: receivers }, (_, r) => {
    const socket = new WebSocket(url, { perMessageDeflate: false })
    socket.on('message', (data: Buffer) => {
      receivedBytes += data.length
      delivered(r, (JSON.parse(data.toString()) as { i: number }).i)
    })
    return socket
  })
  const sender = new WebSocket(url, { perMessageDeflate: false })
  await Promise.all([sender, ...sockets].map(opened))
  return {
    send: (i) => {
      sender.send(paddedJson(i, payloadBytes))
      return undefined
    },
    get receivedBytes() {
      return receivedBytes
    },
    close: async () => {
      for (const socket of [sender, ...sockets]) socket.close()
    },
  }
}

/** Hocuspocus: one Y.Doc; the sender sets a key per message in a Y.Map, receivers observe it. */
const connectHocuspocus = async (options: ConnectOptions): Promise<FanoutClients> => {
  const { url, receivers, payloadBytes, delivered } = options
  let receivedBytes = 0
  // One socket per client, as separate devices have.
  const provider = (document: Y.Doc) => {
    const p = new HocuspocusProvider({
      name: FANOUT_ROOM,
      document,
      websocketProvider: new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket }),
    })
    p.attach()
    return p
  }
  const synced = (p: HocuspocusProvider) =>
    new Promise<void>((resolve) => (p.isSynced ? resolve() : p.on('synced', () => resolve())))
  const providers = Array.from({ length: receivers }, (_, r) => {
    const doc = new Y.Doc()
    doc.on('update', (update: Uint8Array) => {
      receivedBytes += update.length
    })
    const map = doc.getMap<{ i: number }>('m')
    map.observe((event) => {
      for (const key of event.keysChanged) {
        const value = map.get(key)
        if (value) delivered(r, value.i)
      }
    })
    return provider(doc)
  })
  const senderDoc = new Y.Doc()
  const sender = provider(senderDoc)
  const map = senderDoc.getMap<unknown>('m')
  await Promise.all([sender, ...providers].map(synced))
  return {
    send: (i) => {
      map.set(String(i), JSON.parse(paddedJson(i, payloadBytes)))
      return undefined
    },
    get receivedBytes() {
      return receivedBytes
    },
    close: async () => {
      for (const p of [sender, ...providers]) {
        p.destroy()
        p.configuration.websocketProvider.destroy()
      }
    },
  }
}

export const CONNECT: Record<FanoutPeer, (options: ConnectOptions) => Promise<FanoutClients>> = {
  tidings: connectTidings,
  ws: connectRawWs,
  hocuspocus: connectHocuspocus,
}
