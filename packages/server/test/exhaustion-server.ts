/**
 * A Tidings server in its own process for the exhaustion tests, so its RSS is measured without
 * the attackers' memory. Limits come as JSON in TIDINGS_LIMITS; storage is SQLite in a temp folder.
 * Prints `{"port":…}` once listening; stops on SIGTERM.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from '../src/index.js'
import { anyUser } from './any-user.js'

const dir = mkdtempSync(join(tmpdir(), 'tidings-exhaustion-'))
const server = await createServer({
  port: 0,
  dataDir: dir,
  limits: JSON.parse(process.env.TIDINGS_LIMITS ?? '{}'),
  authenticate: anyUser,
  onError: () => {},
})
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`)
process.once('SIGTERM', () => {
  server
    .close()
    .finally(() => rmSync(dir, { recursive: true, force: true }))
    .then(() => process.exit(0))
})
