// One server process of a cluster test: PostgreSQL storage on the test's schema, Redis fan-out on
// its prefix. Prints `{"port":N}` once it listens; a test stops it with SIGTERM or kills it (-9).
import { redisFanout } from '@tidings/fanout-redis'
import { createServer } from '@tidings/server'
import { postgresStorage } from '@tidings/storage-postgres'

const env = (name: string): string => {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

const storage = postgresStorage({ url: env('TIDINGS_PG_URL'), schema: env('CLUSTER_SCHEMA') })
const server = await createServer({
  port: 0,
  storage,
  fanout: redisFanout({ url: env('TIDINGS_REDIS_URL'), prefix: env('CLUSTER_PREFIX') }),
  authenticate: (token) => (token.startsWith('t-') ? { userId: token.slice(2), canWrite: true } : null),
  onError: (error) =>
    process.stderr.write(`[node ${process.pid}] ${String((error as Error)?.stack ?? error)}\n`),
})
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`)
process.once('SIGTERM', () => {
  server
    .close()
    .then(() => storage.close())
    .then(() => process.exit(0))
})
