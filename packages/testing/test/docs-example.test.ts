import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const run = promisify(execFile)

/** The code block that follows `<!-- docs-example: <name> -->` in docs/testing.md, as written. */
const example = (name: string): string => {
  const doc = readFileSync(join(root, 'docs/testing.md'), 'utf8')
  const start = doc.indexOf(`<!-- docs-example: ${name} -->`)
  expect(start, `docs/testing.md has no example ${name}`).toBeGreaterThan(-1)
  const match = /```ts\n([\s\S]*?)```/.exec(doc.slice(start))
  return match![1]!
}

// Inside the repository, so the example's imports resolve as they would in a user's project.
const folder = join(root, 'packages/testing/.docs-run')
afterAll(() => rmSync(folder, { recursive: true, force: true }))

describe('docs/testing.md', () => {
  // test/docs/code-blocks.test.ts runs it under node:test as written; this runs it under vitest.
  it('passes under vitest, with test imported from vitest', async () => {
    mkdirSync(join(folder, 'test'), { recursive: true })
    const code = example('orders.test.ts').replace(
      "import { test } from 'node:test'",
      "import { test } from 'vitest'",
    )
    writeFileSync(join(folder, 'test/orders.test.ts'), code)
    const { stdout } = await run(
      'npx',
      ['vitest', 'run', '--config', join(root, 'vitest.config.ts'), '--root', folder],
      { cwd: root, env: { ...process.env, TIDINGS_VITEST_JSON: '', NO_COLOR: '1' } },
    )
    expect(stdout).toMatch(/Tests\s+2 passed \(2\)/)
  }, 120_000)
})
