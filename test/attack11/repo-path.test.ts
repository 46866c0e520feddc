import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { tempDir } from './kit.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

describe('a newcomer in the repository', () => {
  it('`npx tidings-server --help` runs the local server, never a registry package of that name', () => {
    // --offline: if the bin is not linked, npm would otherwise fetch "tidings-server" from the registry,
    // an unrelated (or squatted) package. Today the bin points at dist/cli.js, absent until a build.
    const run = spawnSync('npm', ['exec', '--offline', '--', 'tidings-server', '--help'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(run.stderr).not.toMatch(/registry\.npmjs\.org/)
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toContain('--port')
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
