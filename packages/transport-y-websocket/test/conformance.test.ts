import type { ConversationId } from '@tidings/core'
import { runTransportConformance } from '@tidings/core/conformance'
import { yWebsocketTransport } from '@tidings/transport-y-websocket'
import { describe } from 'vitest'
import { Traffic } from '../../../test/support/traffic.js'
import { startYServer } from './y-server.js'

// y-websocket adds a process 'exit' listener per provider; dozens of rooms are expected here.
process.setMaxListeners(0)

// With no manifest, a room is found only when followed: list every doc the suite writes.
const SUFFIXES = ['urgent', 'high', 'normal', 'low', 'control', 'receipts'].flatMap((lane) =>
  [0, 1, 2, 3, 999_999_999_999_999].map((period) => `${lane}/${period}`),
)
const follow = (conversation: ConversationId) => SUFFIXES.map((s) => `${conversation}/${s}`)

describe('yWebsocketTransport against a stock y-websocket server', () => {
  runTransportConformance(
    async () => {
      const traffic = new Traffic()
      const server = await startYServer(traffic)
      const link = () => yWebsocketTransport({ url: server.url, WebSocket: traffic.WebSocket, follow })
      return { transports: [link(), link()], flush: () => traffic.flush(), teardown: () => server.close() }
    },
    // The stock server relays presence as sent; stamping and clearing are the Tidings server's.
    { runs: 10, awareness: 'relayed' },
  )
})
