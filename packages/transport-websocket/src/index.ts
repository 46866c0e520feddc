export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js'
export type { OnlineSource, WebSocketConstructor, WebSocketLike } from './platform.js'
export { CREDIT_BYTES } from './sender.js'
export {
  type WebsocketTransport,
  type WebsocketTransportOptions,
  websocketTransport,
} from './transport.js'
