import { cp, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ROOT, rootManifest, runOk } from './workspace.js'

// A fresh app that installs the packed tarballs as a user would, and the files that exercise them.

/** One installed tarball: the package name and the .tgz it came from. */
export interface Tarball {
  name: string
  file: string
}

const binding = 'node_modules/better-sqlite3/build'

/**
 * Installs the tarballs in `dir`, third-party packages from the registry (the npm cache first).
 * Scripts are skipped, so better-sqlite3 does not compile for a minute: its addon is copied from the
 * workspace, which holds the same version, built for this Node.
 */
export const installConsumer = async (dir: string, tarballs: Tarball[]): Promise<void> => {
  const dev = rootManifest() as { devDependencies?: Record<string, string> }
  const pin = (name: string) => dev.devDependencies?.[name] ?? 'latest'
  const dependencies: Record<string, string> = {
    // The conformance suites' optional peer, and the Node types a Node app has.
    vitest: pin('vitest'),
    '@types/node': pin('@types/node'),
  }
  for (const { name, file } of tarballs) dependencies[name] = `file:${file}`
  const manifest = { name: 'tidings-consumer', private: true, type: 'module', dependencies }
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  await runOk(
    'npm',
    ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
    dir,
  )
  const version = async (root: string) =>
    (
      JSON.parse(await readFile(join(root, 'node_modules/better-sqlite3/package.json'), 'utf8')) as {
        version: string
      }
    ).version
  if ((await version(dir)) === (await version(ROOT)))
    await cp(join(ROOT, binding), join(dir, binding), { recursive: true })
  else await runOk('npm', ['rebuild', 'better-sqlite3'], dir)
}

/** What runtime.mjs found for one specifier: sorted export names, or the error. */
export interface EntryReport {
  esm?: string[]
  esmError?: string
  cjs?: string[]
  cjsError?: string
}

/** What runtime.mjs writes to report.json. */
export interface RuntimeReport {
  entries: Record<string, EntryReport>
  /** The ESM and CJS builds of core are two copies, as two installs would be. */
  copiesDistinct: boolean
  /** Each copy's isTidingsError recognises the other copy's error. */
  copiesRecognised: boolean
  /** The CJS SQLite adapter refused a held file; the ESM core read its code. */
  lockedAcrossCopies: boolean
}

// Imports and requires every entry in Node, then the issue's case: a CJS adapter's
// `storage/locked` error, tested with the ESM core's isTidingsError.
const RUNTIME = `import { createRequire } from 'node:module'
import { writeFileSync } from 'node:fs'
const require = createRequire(import.meta.url)
const entries = {}
for (const spec of JSON.parse(process.argv[2])) {
  const entry = (entries[spec] = {})
  try { entry.esm = Object.keys(await import(spec)).sort() } catch (e) { entry.esmError = String(e?.stack ?? e) }
  try { entry.cjs = Object.keys(require(spec)).sort() } catch (e) { entry.cjsError = String(e?.stack ?? e) }
}
const esm = await import('@tidings/core')
const cjs = require('@tidings/core')
const copiesDistinct = esm.TidingsError !== cjs.TidingsError
const copiesRecognised =
  esm.isTidingsError(new cjs.TidingsError('storage/locked', 'x'), 'storage/locked') &&
  cjs.isTidingsError(new esm.TidingsError('auth/denied', 'x'), 'auth/denied')
const { sqliteStorage } = await import('@tidings/storage-sqlite')
const held = sqliteStorage({ path: 'held.db' })
let lockedAcrossCopies = false
try {
  require('@tidings/storage-sqlite').sqliteStorage({ path: 'held.db', busyTimeout: 0 })
} catch (error) {
  lockedAcrossCopies = esm.isTidingsError(error, 'storage/locked')
}
await held.close()
writeFileSync('report.json', JSON.stringify({ entries, copiesDistinct, copiesRecognised, lockedAcrossCopies }))
`

const alias = (index: number) => `m${index}`

/** A file that imports every entry (ESM syntax) and uses one adapter through core's own type. */
const appTs = (
  specifiers: string[],
) => `${specifiers.map((s, i) => `import * as ${alias(i)} from '${s}'`).join('\n')}
import type { StorageAdapter } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'

// The adapter's result is core's StorageAdapter: one copy of core's types in the program.
export const storage: StorageAdapter = sqliteStorage({ path: 'app.db' })
export const modules = [${specifiers.map((_, i) => alias(i)).join(', ')}]
`

/** The same for a CommonJS file (`import = require`). */
const appCts = (
  specifiers: string[],
) => `${specifiers.map((s, i) => `import ${alias(i)} = require('${s}')`).join('\n')}
import core = require('@tidings/core')
import sqlite = require('@tidings/storage-sqlite')

const storage: core.StorageAdapter = sqlite.sqliteStorage({ path: 'app.db' })
export = [storage, ${specifiers.map((_, i) => alias(i)).join(', ')}]
`

const tsconfig = (module: string, moduleResolution: string, files: string[]) => ({
  compilerOptions: {
    module,
    moduleResolution,
    target: 'ES2022',
    // The browser packages' types name DOM types (IndexedDB, BroadcastChannel, WebSocket).
    lib: ['ES2022', 'DOM'],
    types: ['node'],
    strict: true,
    skipLibCheck: false,
    noEmit: true,
  },
  files,
})

/**
 * Writes the runtime script and the type-check project. `cjsSpecifiers` leaves out the ESM-only
 * entries, which a CommonJS file cannot name under node16.
 */
export const writeConsumerFiles = async (dir: string, specifiers: string[], cjsSpecifiers: string[]) => {
  await mkdir(dir, { recursive: true })
  const files: Record<string, string> = {
    'runtime.mjs': RUNTIME,
    'app.ts': appTs(specifiers),
    'app.cts': appCts(cjsSpecifiers),
    'tsconfig.bundler.json': JSON.stringify(tsconfig('ESNext', 'Bundler', ['app.ts'])),
    'tsconfig.node16.json': JSON.stringify(tsconfig('Node16', 'Node16', ['app.ts', 'app.cts'])),
  }
  await Promise.all(Object.entries(files).map(([name, text]) => writeFile(join(dir, name), text)))
}
