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

export interface StartOptions {
  /** Progress lines (the build). */
  readonly log?: (line: string) => void
  /** Serve this folder instead of the web chat's build, which is then neither checked nor built. */
  readonly webRoot?: string
}

/**
 * What `npm start` runs: the Tidings server on SQLite in `dataDir`, serving the built web chat on
 * the same port (built first when stale), with the demo token table.
 */
export const startWebChat = async (
  config: StartConfig,
  options: StartOptions = {},
): Promise<WebChatServer> => {
  if (options.webRoot === undefined) await buildWebChat(options.log)
  mkdirSync(config.dataDir, { recursive: true })
  const server = await createServer({
    port: config.port,
    host: config.host,
    dataDir: config.dataDir,
    ...(config.logLevel ? { logLevel: config.logLevel } : {}),
    authenticate: demoAuthenticate,
    request: staticFiles(options.webRoot ?? WEB_CHAT_DIST),
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
