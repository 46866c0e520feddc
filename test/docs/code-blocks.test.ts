import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { docFiles, extractBlocks, slug } from './blocks.js'
import { typecheckBlocks } from './typecheck.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
// By path: a block runs in a temporary folder, where `--import tsx` would not resolve.
const tsx = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href
const blocks = docFiles(root).flatMap((file) => extractBlocks(root, file))

// Inside the repository, so a block's bare imports resolve from its node_modules as in an app.
const runFolder = join(root, 'test/docs/.run')
afterAll(() => rmSync(runFolder, { recursive: true, force: true }))

describe('TypeScript blocks of the READMEs and docs/', () => {
  it('are found, the getting-started ones included', () => {
    expect(blocks.length).toBeGreaterThan(20)
    expect(blocks.filter((b) => b.file === 'docs/getting-started.md').map((b) => b.mode)).toEqual([
      'run',
      'check',
    ])
  })

  it('type-check, each as its own module against the workspace sources', () => {
    expect(typecheckBlocks(root, blocks)).toEqual([])
  }, 120_000)

  // Blocks marked `check` need a browser or a server of their own; `partial` ones are fragments.
  const runnable = blocks.filter((b) => b.mode === 'run')
  it.each(runnable.map((b) => [slug(b), b] as const))(
    '%s runs as written and exits 0',
    async (_, block) => {
      mkdirSync(runFolder, { recursive: true })
      const file = join(runFolder, `${slug(block)}.ts`)
      writeFileSync(file, `${block.code}\nexport {}\n`)
      // A fresh working folder per block: the files it creates (databases) vanish with it.
      const cwd = mkdtempSync(join(tmpdir(), 'tidings-doc-'))
      try {
        const result: { code?: number; signal?: string | null; stderr?: string } = await promisify(execFile)(
          process.execPath,
          ['--import', tsx, file],
          {
            cwd,
            env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json'), NODE_OPTIONS: '' },
            timeout: 60_000,
          },
        ).catch((error: { code?: number; signal?: string; stderr?: string }) => error)
        // Exit code 13 is Node's "top-level await never settled": a promise the block waits on hangs.
        // A signal means the timeout killed it: something kept the process alive.
        const exit = result.signal ?? result.code ?? 0
        expect(`exit ${exit}\n${result.stderr}`).toBe(`exit 0\n${result.stderr}`)
      } finally {
        rmSync(cwd, { recursive: true, force: true })
      }
    },
    90_000,
  )
})
