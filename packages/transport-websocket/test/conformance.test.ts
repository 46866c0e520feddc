import { runTransportConformance } from '@tidings/core/conformance'
import { websocketTransport } from '@tidings/transport-websocket'
import { describe } from 'vitest'
import { Traffic } from '../../../test/support/traffic.js'
import { startStub } from './stub-server.js'

describe('websocketTransport against the stub server', () => {
  runTransportConformance(
    async () => {
      const traffic = new Traffic()
      const stub = await startStub({ traffic })
      const link = () => websocketTransport({ url: stub.url, token: 't', WebSocket: traffic.WebSocket })
      return { transports: [link(), link()], flush: () => traffic.flush(), teardown: () => stub.close() }
      // The stub relays presence as sent; the real server's stamping is tested in test/e2e/presence.
    },
    { awareness: 'relayed' },
  )
})
