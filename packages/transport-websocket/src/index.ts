export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js'
export { FRAME_MS, INITIAL_WINDOW_BYTES, MIN_WINDOW_BYTES, QUEUE_MS } from './credit-window.js'
export type { OnlineSource, WebSocketConstructor, WebSocketLike } from './platform.js'
export {
  type WebsocketTransport,
  type WebsocketTransportOptions,
  websocketTransport,
} from './transport.js'
