import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { installConsumer, type RuntimeReport, type Tarball, writeConsumerFiles } from './consumer.js'
import {
  bin,
  buildWaves,
  entrySpecifiers,
  pool,
  ROOT,
  type RunResult,
  run,
  runOk,
  workspacePackages,
} from './workspace.js'

// Builds every package once, packs it, installs the tarballs in a fresh app outside the repository
// and checks what a user gets: imports, requires, types, publint and attw. About a minute on two cores.

const packages = workspacePackages()
const specifiers = packages.flatMap((p) => entrySpecifiers(p.manifest))
// Entries without a `require` condition: vitest is ESM-only, so the conformance suites are too.
const esmOnly = packages.flatMap((p) =>
  Object.entries(p.manifest.exports ?? {})
    .filter(([, target]) => typeof target === 'object' && target !== null && !('require' in target))
    .map(([key]) => ({ name: p.manifest.name, key, spec: `${p.manifest.name}/${key.slice(2)}` })),
)
// attw warns that `require` of an ESM-only entry needs Node's require(esm) (20.19+, our engines).
const ATTW_ALLOWED = new Set(esmOnly.map(({ name, key }) => `${name} CJSResolvesToESM ${key}`))
// What a tarball may hold: npm adds the readme, licence and changelog to "files": ["dist"].
const PACKED_FILE = /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/.+)$/

let temp = ''
let app = ''
let tarballs: Tarball[] = []
let packedFiles: string[] = []
let checks: Map<string, Promise<RunResult>> = new Map()

const timed = async <T>(label: string, step: () => Promise<T>): Promise<T> => {
  const start = performance.now()
  const result = await step()
  console.log(`[packaging] ${label}: ${((performance.now() - start) / 1000).toFixed(1)} s`)
  return result
}

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'tidings-packed-'))
  app = join(temp, 'app')
  await timed('build', async () => {
    for (const wave of buildWaves(packages))
      await pool(wave, (p) => runOk('npm', ['run', 'build', '--silent'], p.dir))
  })
  await timed('pack', async () => {
    const workspaces = packages.flatMap((p) => ['-w', p.manifest.name])
    const out = await runOk('npm', ['pack', '--json', '--pack-destination', temp, ...workspaces], ROOT)
    const packed = JSON.parse(out) as { name: string; filename: string; files: { path: string }[] }[]
    tarballs = packed.map(({ name, filename }) => ({ name, file: join(temp, filename) }))
    packedFiles = packed.flatMap(({ name, files }) => files.map((f) => `${name}: ${f.path}`))
  })
  await writeConsumerFiles(
    app,
    specifiers,
    specifiers.filter((s) => !esmOnly.some((e) => e.spec === s)),
  )
  await timed('install', () => installConsumer(app, tarballs))
  // The slow checks share the cores; each test awaits its own.
  const tasks: [string, string, string[]][] = [
    ['tsc bundler', bin('tsc'), ['-p', 'tsconfig.bundler.json']],
    ['tsc node16', bin('tsc'), ['-p', 'tsconfig.node16.json']],
    ['runtime', process.execPath, ['runtime.mjs', JSON.stringify(specifiers)]],
    ...tarballs.map(({ name, file }): [string, string, string[]] => [
      `attw ${name}`,
      bin('attw'),
      [file, '--format', 'json', '--no-definitely-typed'],
    ]),
  ]
  const results = pool(tasks, ([, command, args]) => run(command, args, app))
  checks = new Map(tasks.map(([label], i) => [label, results.then((all) => all[i] as RunResult)]))
  await timed('checks', () => results)
}, 300_000)

afterAll(async () => {
  if (temp !== '') await rm(temp, { recursive: true, force: true })
})

const check = (label: string): Promise<RunResult> => {
  const result = checks.get(label)
  if (result === undefined) throw new Error(`no check ${label}`)
  return result
}

describe('packed tarballs in a fresh app', () => {
  it('packs every package, and nothing but its build, readme, licence and changelog', () => {
    expect(tarballs.map((t) => t.name).sort()).toEqual(packages.map((p) => p.manifest.name).sort())
    expect(packedFiles.length).toBeGreaterThan(tarballs.length)
    expect(packedFiles.filter((f) => !PACKED_FILE.test(f.split(': ')[1] ?? ''))).toEqual([])
    // ESM-only entries ship no CommonJS build that could only fail.
    for (const { name, key } of esmOnly) {
      expect(packedFiles).not.toContain(`${name}: dist/${key.slice(2)}/index.cjs`)
    }
  })

  it('imports (ESM) and requires (CJS) every entry in Node, with the same exports', async () => {
    expect((await check('runtime')).code).toBe(0)
    const report = JSON.parse(await readFile(join(app, 'report.json'), 'utf8')) as RuntimeReport
    for (const spec of specifiers) {
      const entry = report.entries[spec]
      expect(entry?.esmError, spec).toBeUndefined()
      expect(entry?.cjsError, spec).toBeUndefined()
      expect(entry?.esm?.length, spec).toBeGreaterThan(0)
      expect(entry?.cjs, spec).toEqual(entry?.esm)
    }
  })

  it('recognises a TidingsError from another copy of core: the CJS adapter’s storage/locked', async () => {
    await check('runtime')
    const report = JSON.parse(await readFile(join(app, 'report.json'), 'utf8')) as RuntimeReport
    expect(report.copiesDistinct).toBe(true)
    expect(report.copiesRecognised).toBe(true)
    expect(report.lockedAcrossCopies).toBe(true)
  })

  it('installs one copy of core and of yjs: the adapters take them as peers', async () => {
    const { code, stdout, output } = await run(
      'npm',
      ['ls', '--all', '--parseable', '@tidings/core', 'yjs'],
      app,
    )
    expect(code, output).toBe(0)
    const copies = (name: string) =>
      stdout.split('\n').filter((line) => line.endsWith(`node_modules/${name}`))
    expect(copies('@tidings/core')).toEqual([join(app, 'node_modules/@tidings/core')])
    expect(copies('yjs')).toEqual([join(app, 'node_modules/yjs')])
  })

  it.each(['bundler', 'node16'])(
    'type-checks every entry with moduleResolution %s, skipLibCheck off',
    async (mode) => {
      const { code, output } = await check(`tsc ${mode}`)
      expect(output).toBe('')
      expect(code).toBe(0)
    },
  )

  it('passes publint, warnings and suggestions included', async () => {
    const findings: string[] = []
    for (const { name } of tarballs) {
      const pkgDir = join(app, 'node_modules', name)
      const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as Record<string, unknown>
      const { messages } = await publint({ pkgDir, pack: false, strict: true })
      for (const message of messages) findings.push(`${name}: ${formatMessage(message, pkg) ?? message.code}`)
    }
    expect(findings).toEqual([])
  })

  it.each(packages.map((p) => p.manifest.name))('passes attw: %s', async (name) => {
    const { stdout, output } = await check(`attw ${name}`)
    expect(stdout, output).not.toBe('')
    const result = JSON.parse(stdout) as { problems?: Record<string, { kind: string; entrypoint: string }[]> }
    const problems = Object.values(result.problems ?? {})
      .flat()
      .filter((p) => !ATTW_ALLOWED.has(`${name} ${p.kind} ${p.entrypoint}`))
    expect(problems).toEqual([])
  })
})
