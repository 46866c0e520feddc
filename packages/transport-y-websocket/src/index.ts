export { defaultRoomName, type YWebsocketTransportOptions, yWebsocketTransport } from './transport.js'
