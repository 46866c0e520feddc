import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** The fields of a package.json these checks read. */
export interface Manifest {
  name: string
  version: string
  private?: boolean
  license?: string
  repository?: { type?: string; url?: string; directory?: string }
  engines?: { node?: string }
  publishConfig?: { access?: string }
  sideEffects?: boolean
  files?: string[]
  exports?: Record<string, unknown>
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
}

/** A published package of the workspace: its folder under packages/ and its manifest. */
export interface WorkspacePackage {
  dir: string
  manifest: Manifest
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T

/** Every folder under packages/, in a stable order. */
export const workspacePackages = (): WorkspacePackage[] =>
  readdirSync(join(ROOT, 'packages'))
    .sort()
    .map((name) => {
      const dir = join(ROOT, 'packages', name)
      return { dir, manifest: readJson<Manifest>(join(dir, 'package.json')) }
    })

/** The root package.json. */
export const rootManifest = (): Manifest & { workspaces: string[] } => readJson(join(ROOT, 'package.json'))

/** Every import specifier a user can write for the package: `@tidings/core`, `@tidings/core/conformance`. */
export const entrySpecifiers = (manifest: Manifest): string[] =>
  Object.keys(manifest.exports ?? { '.': null }).map((key) =>
    key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`,
  )

/** Workspace packages a manifest depends on, peers included. */
const internalDeps = (manifest: Manifest, names: Set<string>): string[] =>
  Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }).filter((dep) => names.has(dep))

/** Packages in build waves: each wave only needs the ones before it (their types come from dist). */
export const buildWaves = (packages: WorkspacePackage[]): WorkspacePackage[][] => {
  const names = new Set(packages.map((p) => p.manifest.name))
  const done = new Set<string>()
  const waves: WorkspacePackage[][] = []
  let left = packages
  while (left.length > 0) {
    const wave = left.filter((p) => internalDeps(p.manifest, names).every((dep) => done.has(dep)))
    if (wave.length === 0)
      throw new Error(`dependency cycle among ${left.map((p) => p.manifest.name).join(', ')}`)
    waves.push(wave)
    for (const p of wave) done.add(p.manifest.name)
    left = left.filter((p) => !wave.includes(p))
  }
  return waves
}

/** What a finished command printed. */
export interface RunResult {
  code: number | null
  stdout: string
  /** stdout and stderr as they came. */
  output: string
}

/** Runs a command to its end and collects stdout and stderr together, never throwing on a failed exit. */
export const run = (
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, FORCE_COLOR: '0', ...env } })
    let stdout = ''
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      output += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, output }))
  })

/** Like `run`, but a non-zero exit throws with the command's output; returns stdout. */
export const runOk = async (command: string, args: string[], cwd: string): Promise<string> => {
  const { code, stdout, output } = await run(command, args, cwd)
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited with ${code}:\n${output}`)
  return stdout
}

/** Maps `items` through `fn`, at most as many at once as the machine has cores. */
export const pool = async <T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> => {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(availableParallelism(), items.length) }, worker))
  return results
}

/** A workspace binary (tsup, tsc, attw) by path, so no `npx` lookup runs per call. */
export const bin = (name: string): string => join(ROOT, 'node_modules', '.bin', name)
