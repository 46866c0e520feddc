import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { FanoutTask } from './fanout.js'
import type { Layout } from './generate.js'
import type { LinkTask } from './link-net.js'
import type { Texts } from './wire.js'

/** Work a worker process does once and reports back. */
export type Task =
  | {
      readonly kind: 'append'
      readonly engine: string
      readonly window: number
      readonly mode: 'full' | 'prefill'
    }
  | {
      readonly kind: 'open'
      readonly layouts: readonly Layout[]
      readonly storage: 'sqlite' | 'memory'
      readonly reps: number
    }
  | { readonly kind: 'heap'; readonly layout: Layout }
  | { readonly kind: 'join'; readonly layout: Layout }
  | { readonly kind: 'wire'; readonly messages: number; readonly texts: Texts }
  | FanoutTask
  | {
      readonly kind: 'burst'
      readonly engine: 'tidings' | 'raw'
      readonly messages: number
      /** Rows per transaction for the raw peer: what Tidings' group commit produced. */
      readonly perTransaction: number
    }
  | { readonly kind: 'stall'; readonly engine: 'tidings' | 'yjs'; readonly messages: number }
  | LinkTask

const here = fileURLToPath(new URL('.', import.meta.url))

/**
 * Runs a task in a fresh Node process (`worker.ts` under tsx, with --expose-gc) and resolves with
 * the one message it sends back. Its log lines go to this process's stderr.
 */
export const inChild = <T>(task: Task): Promise<T> =>
  new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./worker.ts', import.meta.url)), [JSON.stringify(task)], {
      cwd: here,
      execArgv: ['--import', 'tsx', '--expose-gc'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    let answered = false
    let result: T | undefined
    child.on('message', (message) => {
      answered = true
      result = message as T
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (answered) resolve(result as T)
      else reject(new Error(`The ${task.kind} worker exited with ${signal ?? code} before answering.`))
    })
  })
