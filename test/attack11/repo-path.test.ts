import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { tempDir } from './kit.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

describe('a newcomer in the repository', () => {
  // `npx tidings-server` is for apps that installed @tidings/server (its bin is the build). In this
  // repository, before any build, npx would look for a registry package of that name: the README
  // of @tidings/server points newcomers at `npm run server` instead.
  it('`npm run server -- --help` runs the local server from its sources, and the README says so', () => {
    const run = spawnSync('npm', ['run', '--silent', 'server', '--', '--help'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(run.stderr).not.toMatch(/registry\.npmjs\.org/)
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toContain('--port')
    expect(readFileSync(join(ROOT, 'packages/server/README.md'), 'utf8')).toContain('npm run server')
  })

  it("the transport README's sample runs under `npx tsx` in Node without passing WebSocket", () => {
    // packages/transport-websocket/README.md: "In Node the package's `node` entry uses `ws`". In the
    // repo, tsconfig `paths` (which tsx follows) map the package to src/index.ts, not the node entry.
    const file = join(tempDir(), 'sample.ts')
    writeFileSync(
      file,
      [
        "import { websocketTransport } from '@tidings/transport-websocket'",
        "const transport = websocketTransport({ url: 'ws://127.0.0.1:9/', token: 'x' })",
        'transport.close()',
        "console.log('constructed')",
      ].join('\n'),
    )
    const run = spawnSync(process.execPath, ['--import', 'tsx', file], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') },
    })
    expect(run.stderr).not.toMatch(/no global WebSocket/)
    expect(run.stdout).toContain('constructed')
  })
})
