import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type Client,
  createClient,
  memoryStorage,
  type StorageAdapter,
  type TidingsError,
} from '@tidings/core'
import { createServer, type TidingsServer } from '@tidings/server'
import { websocketTransport } from '@tidings/transport-websocket'
import { afterEach } from 'vitest'
import WebSocket from 'ws'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/** A temporary folder removed after the test. */
export const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-a11-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Token `t-<user>` is `<user>`; everything else is refused. */
export const USERS = (token: string) =>
  token.startsWith('t-') ? { userId: token.slice(2), canWrite: true } : null

/** A real server on port 0, closed after the test. */
export const startServer = async (
  options: { storage?: StorageAdapter; port?: number } = {},
): Promise<TidingsServer> => {
  const server = await createServer({
    port: options.port ?? 0,
    storage: options.storage ?? memoryStorage(),
    authenticate: USERS,
  })
  cleanups.push(() => server.close())
  return server
}

export interface Linked {
  readonly client: Client
  /** Every error the client reported, in order. */
  readonly errors: TidingsError[]
}

/** A client on the WebSocket transport, closed after the test. */
export const linked = (
  url: string,
  user: string,
  token: string,
  storage: StorageAdapter = memoryStorage(),
): Linked => {
  const client = createClient({ user, storage, transport: websocketTransport({ url, token, WebSocket }) })
  const errors: TidingsError[] = []
  client.on('error', (error) => errors.push(error))
  cleanups.push(() => client.close())
  return { client, errors }
}

/** Polls `predicate` until it holds or `ms` pass; returns whether it held. */
export const poll = async (predicate: () => boolean | Promise<boolean>, ms = 3000): Promise<boolean> => {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await predicate()) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return predicate()
}

/** Waits exactly `ms`: for tests that prove something does NOT happen within a window. */
export const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Reads one metric's value (first matching line) from `GET /metrics`. */
export const metric = async (server: { port: number }, line: string): Promise<number | undefined> => {
  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text()
  const found = text.split('\n').find((l) => l.startsWith(`${line} `))
  return found === undefined ? undefined : Number(found.slice(line.length + 1))
}

export interface Cli {
  readonly child: ChildProcess
  readonly out: () => string
  readonly err: () => string
  readonly exited: Promise<number | null>
}

/** Runs `tidings-server` from the repo's source in a child process, killed after the test. */
export const cli = (args: string[], env: Record<string, string> = {}, cwd = ROOT): Cli => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'packages/server/src/cli.ts'), ...args],
    {
      cwd,
      env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let out = ''
  let err = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr?.on('data', (d) => (err += d))
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return { child, out: () => out, err: () => err, exited }
}

/** The CLI's `listening` log line, once it appears. */
export const listening = async (run: Cli): Promise<{ port: number; url: string }> => {
  const ok = await poll(() => run.out().includes('"msg":"listening"') || run.child.exitCode !== null, 8000)
  const line = run
    .out()
    .split('\n')
    .find((l) => l.includes('"msg":"listening"'))
  if (!ok || !line) throw new Error(`no listening line: ${run.out()} ${run.err()}`)
  return JSON.parse(line)
}
