import type { AddressInfo } from 'node:net'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { type WebSocket, WebSocketServer } from 'ws'
import * as syncProtocol from 'y-protocols/sync'
import { Doc } from 'yjs'
import type { Traffic } from '../../../test/support/traffic.js'

const messageSync = 0
const messageAwareness = 1

/** A minimal stock y-websocket server (the protocol of y-websocket's own server): one Y.Doc per room. */
export interface YServer {
  readonly url: string
  /** Room name → doc. */
  readonly rooms: Map<string, Doc>
  /** Every open socket with its room. */
  readonly sockets: Map<WebSocket, string>
  /** Sync step 1 messages received per room. */
  readonly step1s: Map<string, number>
  close(): Promise<void>
}

export interface YServerOptions {
  /** Updates are applied this many ms after they arrive, while step 1s are answered at once. */
  applyDelay?: number
}

export const startYServer = async (traffic?: Traffic, options: YServerOptions = {}): Promise<YServer> => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  const rooms = new Map<string, Doc>()
  const sockets = new Map<WebSocket, string>()
  const step1s = new Map<string, number>()

  const send = (socket: WebSocket, url: string, message: Uint8Array) => {
    if (socket.readyState !== socket.OPEN) return
    traffic?.serverSent(url)
    socket.send(message)
  }
  const urls = new Map<WebSocket, string>()
  const docFor = (name: string): Doc => {
    let doc = rooms.get(name)
    if (!doc) {
      doc = new Doc()
      rooms.set(name, doc)
      // Like the stock server: every update goes to every connection of the room, its sender included.
      doc.on('update', (update: Uint8Array) => {
        const encoder = encoding.createEncoder()
        encoding.writeVarUint(encoder, messageSync)
        syncProtocol.writeUpdate(encoder, update)
        const message = encoding.toUint8Array(encoder)
        for (const [socket, room] of sockets) if (room === name) send(socket, urls.get(socket)!, message)
      })
    }
    return doc
  }

  wss.on('connection', (socket, request) => {
    const url = request.url ?? '/'
    const name = url.slice(1).split('?')[0]!
    const doc = docFor(name)
    sockets.set(socket, name)
    urls.set(socket, url)
    traffic?.serverOpened(url)
    socket.on('message', (data) => {
      traffic?.serverReceived(url)
      const decoder = decoding.createDecoder(new Uint8Array(data as Buffer))
      const type = decoding.readVarUint(decoder)
      if (type === messageSync) {
        const step1 = decoding.peekVarUint(decoder) === syncProtocol.messageYjsSyncStep1
        if (step1) step1s.set(name, (step1s.get(name) ?? 0) + 1)
        const handle = () => {
          const encoder = encoding.createEncoder()
          encoding.writeVarUint(encoder, messageSync)
          syncProtocol.readSyncMessage(decoder, encoder, doc, socket)
          if (encoding.length(encoder) > 1) send(socket, url, encoding.toUint8Array(encoder))
        }
        if (step1 || !options.applyDelay) handle()
        else setTimeout(handle, options.applyDelay)
      } else if (type === messageAwareness) {
        for (const [other, room] of sockets)
          if (room === name && other !== socket) send(other, urls.get(other)!, new Uint8Array(data as Buffer))
      }
    })
    socket.on('close', () => {
      traffic?.serverClosed(url)
      sockets.delete(socket)
    })
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, messageSync)
    syncProtocol.writeSyncStep1(encoder, doc)
    send(socket, url, encoding.toUint8Array(encoder))
  })

  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    rooms,
    sockets,
    step1s,
    close: async () => {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
}
