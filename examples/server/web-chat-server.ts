import { mkdirSync } from 'node:fs'
import { createServer, type TidingsServer } from '@tidings/server'
import { buildWebChat, WEB_CHAT_DIST } from './build-web-chat.js'
import type { StartConfig } from './config.js'
import { demoAuthenticate } from './demo-auth.js'
import { staticFiles } from './static-files.js'

export interface WebChatServer {
  readonly server: TidingsServer
  /** Where a browser opens the chat, e.g. http://localhost:8080. */
  readonly httpUrl: string
  /** The sync WebSocket, on the same port. */
  readonly wsUrl: string
  close(): Promise<void>
}

/**
 * What `npm start` runs: the Tidings server on SQLite in `dataDir`, serving the built web chat on
 * the same port (built first when stale), with the demo token table.
 */
export const startWebChat = async (
  config: StartConfig,
  log: (line: string) => void = () => {},
): Promise<WebChatServer> => {
  await buildWebChat(log)
  mkdirSync(config.dataDir, { recursive: true })
  const server = await createServer({
    port: config.port,
    host: config.host,
    dataDir: config.dataDir,
    authenticate: demoAuthenticate,
    request: staticFiles(WEB_CHAT_DIST),
  })
  // A loopback server is reached as localhost, which is what a visitor types.
  const host = /^127\.|^\[::1\]/.test(new URL(server.url).hostname)
    ? 'localhost'
    : new URL(server.url).hostname
  return {
    server,
    httpUrl: `http://${host}:${server.port}`,
    wsUrl: `ws://${host}:${server.port}/`,
    close: () => server.close(),
  }
}
