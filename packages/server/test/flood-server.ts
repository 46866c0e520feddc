// Run by y-flood.test.ts as `node --import tsx flood-server.ts` with TSX_TSCONFIG_PATH set to the
// root tsconfig.json, so '@tidings/core' resolves to source as under vitest. A server in its own
// process, so the test measures its memory (VmRSS) and latency alone. Prints `PORT <n>`.
import { memoryStorage } from '@tidings/core'
import { createServer } from '../src/index.js'

const USERS: Record<string, { userId: string; canWrite: boolean }> = {
  't-alice': { userId: 'alice', canWrite: true },
  't-mallory': { userId: 'mallory', canWrite: true },
  't-eve': { userId: 'eve', canWrite: true },
}

const server = await createServer({
  port: 0,
  storage: memoryStorage(),
  authenticate: (token) => USERS[token] ?? null,
  onError: (error) => console.error(error),
})
console.log(`PORT ${server.port}`)
process.on('SIGTERM', () => {
  server.close().then(() => process.exit(0))
})
