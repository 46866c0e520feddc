import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))

it('runs the README usage example as written', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  const usage = readme.slice(readme.indexOf('Everything below runs as written'))
  const code = /```ts\n([\s\S]*?)```/.exec(usage)?.[1]
  expect(code).toBeDefined()
  const dir = await mkdtemp(join(tmpdir(), 'tidings-readme-'))
  try {
    const file = join(dir, 'usage.mts')
    await writeFile(file, code!)
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
    })
    const lines = stdout.trim().split('\n')
    expect(lines).toContain('sent')
    expect(lines).toContain("[ { text: 'Confirm the contract' } ]")
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
