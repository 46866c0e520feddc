import { decodeFrame, encodeFrame, type Frame } from '@tidings/protocol'
import type { WebSocketConstructor, WebSocketLike } from '@tidings/transport-websocket'

/** A WebSocket the test drives by hand: it opens, fails and delivers frames when told. */
export class FakeSocket implements WebSocketLike {
  binaryType = 'blob'
  bufferedAmount = 0
  readyState = 0
  readonly sent: Frame[] = []
  onopen: WebSocketLike['onopen'] = null
  onmessage: WebSocketLike['onmessage'] = null
  onclose: WebSocketLike['onclose'] = null
  onerror: WebSocketLike['onerror'] = null

  constructor(readonly url: string) {}

  send(data: Uint8Array): void {
    this.sent.push(decodeFrame(data))
  }

  close(): void {
    this.readyState = 3
  }

  /** The connection opens. */
  open(): void {
    this.readyState = 1
    this.onopen?.(undefined)
  }

  /** The connection fails or drops. */
  fail(code = 1006): void {
    this.readyState = 3
    this.onclose?.({ code, reason: '' })
  }

  /** A frame arrives from the server. */
  deliver(frame: Frame): void {
    const bytes = encodeFrame(frame)
    this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) })
  }
}

/** A constructor that records every socket it makes. */
export const fakeSockets = () => {
  const sockets: FakeSocket[] = []
  const WebSocket: WebSocketConstructor = class extends FakeSocket {
    constructor(url: string) {
      super(url)
      sockets.push(this)
    }
  }
  return { sockets, WebSocket, last: () => sockets.at(-1)! }
}
