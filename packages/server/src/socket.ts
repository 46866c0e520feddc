import type { Socket } from 'node:net'
import type { RawData, WebSocket } from 'ws'
import type { FrameSink } from './lanes-queue.js'

/** A ws message as bytes, without copying when it arrived in one piece. */
export const toBytes = (data: RawData): Uint8Array => {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data))
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

/**
 * Writes binary frames to a ws socket, gathering the frames of one turn into one write: the TCP
 * socket is corked at the first frame and uncorked once the code running now is done. A commit
 * round forwards hundreds of frames to each subscriber; a system call per frame cost more than
 * everything else forwarding does (issue 12, fan-out profile).
 */
export const corkingSink = (ws: WebSocket): FrameSink => {
  let corked: Socket | undefined
  const uncork = () => {
    const socket = corked
    corked = undefined
    socket?.uncork()
  }
  return {
    send(data, done) {
      // ws keeps its net.Socket here; it corks and uncorks around its own two-part writes too.
      const socket = (ws as unknown as { _socket?: Socket })._socket
      if (!corked && socket && !socket.destroyed) {
        corked = socket
        socket.cork()
        process.nextTick(uncork)
      }
      ws.send(data, { binary: true }, done)
    },
  }
}
