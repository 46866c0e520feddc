import WebSocket from 'ws'
import type { WebSocketConstructor } from './platform.js'
import {
  websocketTransport as transportOn,
  type WebsocketTransport,
  type WebsocketTransportOptions,
} from './transport.js'

// The entry Node resolves (the `node` export condition): Node 20 has no global WebSocket, and the
// `ws` package's errors carry the codes that tell an unreachable server from a TLS mismatch.
export * from './index.js'

/** Creates the transport to a Tidings server (docs/protocol.md); in Node, `WebSocket` defaults to the `ws` package's. */
export const websocketTransport = (options: WebsocketTransportOptions): WebsocketTransport =>
  transportOn({ WebSocket: WebSocket as unknown as WebSocketConstructor, ...options })
