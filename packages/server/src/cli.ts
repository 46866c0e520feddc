#!/usr/bin/env node
import { parseCli, tokenAuthenticate, USAGE } from './cli-config.js'
import { createServer } from './server.js'

/** `tidings-server`: the sync server on SQLite, with tokens from a file or the environment. */
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
  const server = await createServer({
    port: config.port,
    host: config.host,
    dataDir: config.dataDir,
    authenticate: tokenAuthenticate(config.tokens),
    ...(config.retentionDays !== undefined ? { retentionDays: config.retentionDays } : {}),
  })
  process.stdout.write(`tidings-server listening on ${server.url} (data in ${config.dataDir})\n`)
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      (error) => {
        process.stderr.write(`tidings-server: ${String(error)}\n`)
        process.exit(1)
      },
    )
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((error) => {
  process.stderr.write(`tidings-server: ${(error as Error).stack ?? String(error)}\n`)
  process.exit(1)
})
