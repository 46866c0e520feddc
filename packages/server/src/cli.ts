#!/usr/bin/env node
import { isTidingsError } from '@tidings/core'
import { pino } from 'pino'
import { parseCli, tokenAuthenticate, USAGE } from './cli-config.js'
import { cliBackends } from './cli-storage.js'
import { createServer } from './server.js'

/**
 * `tidings-server`: the sync server on SQLite, or on PostgreSQL (and Redis, for several
 * processes), with tokens from a file or the environment.
 */
const main = async (): Promise<void> => {
  let config: ReturnType<typeof parseCli>
  try {
    config = parseCli(process.argv.slice(2), process.env)
  } catch (error) {
    process.stderr.write(`tidings-server: ${(error as Error).message}\n\n${USAGE}`)
    process.exit(2)
  }
  if (config === 'help') {
    process.stdout.write(USAGE)
    return
  }
  // JSON lines on stdout, as log collectors expect; the start line carries the URL.
  const logger = pino({ name: 'tidings-server', level: config.logLevel })
  const { storage, fanout } = await cliBackends(config)
  const server = await createServer({
    logger,
    port: config.port,
    host: config.host,
    storage,
    ...(fanout ? { fanout } : { dataDir: config.dataDir }),
    authenticate: tokenAuthenticate(config.tokens),
    ...(config.retentionDays !== undefined ? { retentionDays: config.retentionDays } : {}),
  })
  // SIGTERM (a deploy, `docker stop`): refuse new sockets, finish the commits in flight, and
  // close every client with 1001 so it reconnects to the next instance.
  const stop = () => {
    server.close().then(
      () => storage.close().then(() => process.exit(0)),
      (error) => {
        process.stderr.write(`tidings-server: ${String(error)}\n`)
        process.exit(1)
      },
    )
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

/** What a failed start prints: one sentence that says what to do; a stack only for a bug. */
const explain = (error: unknown): string => {
  if (isTidingsError(error, 'server/address-in-use')) return `${error.message} Use --port <n> (or PORT=<n>).`
  if (isTidingsError(error, 'storage/unwritable') || isTidingsError(error, 'storage/locked'))
    return `${error.message} Use --data <folder>.`
  if (isTidingsError(error)) return error.message
  return (error as Error)?.stack ?? String(error)
}

main().catch((error) => {
  process.stderr.write(`tidings-server: ${explain(error)}\n`)
  process.exit(1)
})
