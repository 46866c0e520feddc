import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** `npm start`'s server as its own process: what a visitor runs, and what SIGKILL can end. */
export interface StartedProcess {
  readonly proc: ChildProcess
  /** The page's address as printed, with 127.0.0.1 for the host. */
  readonly url: string
  readonly port: number
  /** Everything the process printed so far, stdout and stderr together. */
  output(): string
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | string>
}

/** Runs examples/server/main.ts (what `npm start` runs) with `args`; resolves when it prints its address. */
export const startProcess = (args: readonly string[], timeoutMs = 60_000): Promise<StartedProcess> => {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'examples/server/main.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const exited = new Promise<number | string>((resolve) =>
    proc.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  )
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`the server printed no address within ${timeoutMs} ms:\n${out}`))
    }, timeoutMs)
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      const printed = /Tidings web chat:\s+http:\/\/[^:]+:(\d+)/.exec(out)
      if (!printed) return
      clearTimeout(timer)
      const port = Number(printed[1])
      resolve({ proc, url: `http://127.0.0.1:${port}`, port, output: () => out, exited })
    }
    proc.stdout?.on('data', onData)
    proc.stderr?.on('data', onData)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`the server exited (${code}) before printing its address:\n${out}`))
    })
  })
}

/** Runs main.ts with `args` to its end and returns its exit code and everything it printed. */
export const runToExit = async (
  args: readonly string[],
  timeoutMs = 30_000,
): Promise<{ code: number | string; output: string }> => {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'examples/server/main.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  proc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  // A server that keeps running instead of exiting is ended here, so no test leaves it behind.
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | string>((resolve) =>
    proc.once('exit', (c, signal) => resolve(c ?? signal ?? 'unknown')),
  )
  clearTimeout(timer)
  return { code, output }
}
