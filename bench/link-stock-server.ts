import type { AddressInfo } from 'node:net'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { type WebSocket, WebSocketServer } from 'ws'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'

const MESSAGE_SYNC = 0
const MESSAGE_AWARENESS = 1

/** A running stock y-websocket server: what y-websocket's classic `bin/utils.js` does, in memory. */
export interface StockServer {
  readonly port: number
  close(): Promise<void>
}

interface Room {
  readonly doc: Y.Doc
  readonly awareness: awarenessProtocol.Awareness
  readonly conns: Map<WebSocket, Set<number>>
}

const send = (conn: WebSocket, message: Uint8Array) => {
  if (conn.readyState === conn.OPEN) conn.send(message)
}

const frame = (type: number, write: (encoder: encoding.Encoder) => void): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, type)
  write(encoder)
  return encoding.toUint8Array(encoder)
}

const openRoom = (): Room => {
  const doc = new Y.Doc()
  const awareness = new awarenessProtocol.Awareness(doc)
  awareness.setLocalState(null)
  const room: Room = { doc, awareness, conns: new Map() }
  // As the classic server: every update goes to every connection of the room, its sender included.
  doc.on('update', (update: Uint8Array) => {
    const message = frame(MESSAGE_SYNC, (e) => syncProtocol.writeUpdate(e, update))
    for (const conn of room.conns.keys()) send(conn, message)
  })
  awareness.on(
    'update',
    (
      { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
      origin: unknown,
    ) => {
      const changed = [...added, ...updated, ...removed]
      const owned = room.conns.get(origin as WebSocket)
      if (owned) {
        for (const id of added) owned.add(id)
        for (const id of removed) owned.delete(id)
      }
      const message = frame(MESSAGE_AWARENESS, (e) =>
        encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, changed)),
      )
      for (const conn of room.conns.keys()) send(conn, message)
    },
  )
  return room
}

/**
 * A standard y-websocket server (sync and awareness of y-protocols, one in-memory Y.Doc per room),
 * written here as y-websocket's classic `utils.js` does it, on 127.0.0.1 and a free port.
 */
export const startStockServer = async (): Promise<StockServer> => {
  const rooms = new Map<string, Room>()
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  wss.on('connection', (conn, request) => {
    conn.binaryType = 'arraybuffer'
    const name = (request.url ?? '/').slice(1).split('?')[0]!
    let room = rooms.get(name)
    if (!room) {
      room = openRoom()
      rooms.set(name, room)
    }
    const { doc, awareness, conns } = room
    conns.set(conn, new Set())
    conn.on('message', (data: ArrayBuffer) => {
      const decoder = decoding.createDecoder(new Uint8Array(data))
      const type = decoding.readVarUint(decoder)
      if (type === MESSAGE_SYNC) {
        const encoder = encoding.createEncoder()
        encoding.writeVarUint(encoder, MESSAGE_SYNC)
        syncProtocol.readSyncMessage(decoder, encoder, doc, conn)
        if (encoding.length(encoder) > 1) send(conn, encoding.toUint8Array(encoder))
      } else if (type === MESSAGE_AWARENESS) {
        awarenessProtocol.applyAwarenessUpdate(awareness, decoding.readVarUint8Array(decoder), conn)
      }
    })
    conn.on('close', () => {
      const owned = conns.get(conn)
      conns.delete(conn)
      if (owned) awarenessProtocol.removeAwarenessStates(awareness, [...owned], null)
    })
    send(
      conn,
      frame(MESSAGE_SYNC, (e) => syncProtocol.writeSyncStep1(e, doc)),
    )
    const states = awareness.getStates()
    if (states.size > 0)
      send(
        conn,
        frame(MESSAGE_AWARENESS, (e) =>
          encoding.writeVarUint8Array(
            e,
            awarenessProtocol.encodeAwarenessUpdate(awareness, [...states.keys()]),
          ),
        ),
      )
  })
  return {
    port: (wss.address() as AddressInfo).port,
    close: async () => {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      for (const room of rooms.values()) room.doc.destroy()
    },
  }
}
