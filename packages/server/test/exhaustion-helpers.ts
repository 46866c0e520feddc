import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterEach } from 'vitest'
import type { Limits } from '../src/index.js'
import type { TestClient } from './helpers.js'

const children: ChildProcess[] = []

afterEach(async () => {
  await Promise.all(
    children.splice(0).map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve()
          child.once('exit', () => resolve())
          child.kill('SIGTERM')
        }),
    ),
  )
})

export interface ServerProcess {
  readonly url: string
  readonly pid: number
  /** The server process's resident set size in MiB, from /proc. */
  rss(): number
}

/** Starts `exhaustion-server.ts` in a child process (killed after the test) and waits for its port. */
export const startServerProcess = async (limits: Partial<Limits> = {}): Promise<ServerProcess> => {
  const child = startScript('exhaustion-server.ts', [], { TIDINGS_LIMITS: JSON.stringify(limits) })
  const { port } = JSON.parse(await nextLine(child)) as { port: number }
  const pid = child.pid!
  return {
    url: `ws://127.0.0.1:${port}`,
    pid,
    rss: () => {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
      return match ? Number(match[1]) / 1024 : 0
    },
  }
}

export interface Figures {
  readonly pings: number
  /** Round trips in ms; a ping unanswered when the attack ended counts the time it waited. */
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly rssBefore: number
  readonly rssPeak: number
  /** The bystander's connection was still open at the end. */
  readonly bystanderOpen: boolean
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0

/** Starts a script of this folder in a child process (killed after the test) with `args`. */
const startScript = (name: string, args: string[], env: Record<string, string> = {}): ChildProcess => {
  const script = fileURLToPath(new URL(`./${name}`, import.meta.url))
  const root = fileURLToPath(new URL('../../..', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  children.push(child)
  return child
}

/** The next line a child prints. */
const nextLine = (child: ChildProcess): Promise<string> =>
  new Promise((resolve, reject) => {
    let out = ''
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      const end = out.indexOf('\n')
      if (end < 0) return
      child.stdout!.off('data', onData)
      child.off('exit', onExit)
      resolve(out.slice(0, end))
    }
    const onExit = (code: number | null) => reject(new Error(`the child process exited with ${code}`))
    child.stdout!.on('data', onData)
    child.once('exit', onExit)
  })

/**
 * Runs `attack` while a bystander in its own process pings the server every 20 ms and the
 * server's RSS is sampled every 50 ms, then prints one table row and returns the figures.
 */
export const duringAttack = async (
  name: string,
  server: ServerProcess,
  attack: () => Promise<void>,
): Promise<Figures> => {
  const pinger = startScript('exhaustion-pinger.ts', [server.url])
  await nextLine(pinger)
  const rssBefore = server.rss()
  let rssPeak = rssBefore
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, server.rss())
  }, 50)
  try {
    await attack()
  } finally {
    clearInterval(sampler)
  }
  rssPeak = Math.max(rssPeak, server.rss())
  const report = nextLine(pinger)
  pinger.stdin!.write('stop\n')
  const { rtts, open } = JSON.parse(await report) as { rtts: number[]; open: boolean }
  const all = rtts.sort((a, b) => a - b)
  const figures: Figures = {
    pings: all.length,
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    max: all[all.length - 1] ?? 0,
    rssBefore,
    rssPeak,
    bystanderOpen: open,
  }
  const row = [
    name.padEnd(44),
    `pings ${String(figures.pings).padStart(4)}`,
    `p50 ${figures.p50.toFixed(1).padStart(7)} ms`,
    `p99 ${figures.p99.toFixed(1).padStart(7)} ms`,
    `max ${figures.max.toFixed(1).padStart(7)} ms`,
    `RSS ${rssBefore.toFixed(0)} -> peak ${rssPeak.toFixed(0)} MiB`,
  ]
  console.log(`| ${row.join(' | ')} |`)
  return figures
}

/** Resolves with the client's close, or 'open' once `ms` passed without one. */
export const closedWithin = (
  client: TestClient,
  ms: number,
): Promise<{ code: number; reason: string } | 'open'> =>
  Promise.race([client.closed, new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), ms))])

/** The bounds for every exhaustion attack: p99 ping under 250 ms, RSS under 300 MiB. */
export const BOUNDS = { p99Ms: 250, rssMiB: 300 } as const
