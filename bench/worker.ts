import { runRep } from './append.js'
import type { Task } from './child.js'
import { ENGINES } from './engines.js'
import { linkRep } from './link-rep.js'
import { openLayout } from './open.js'

// Entry point of a worker process started by `inChild`: one task, one answer, then exit.
const task = JSON.parse(process.argv[2] ?? '{}') as Task
const run = async (): Promise<unknown> => {
  if (task.kind === 'append') {
    const spec = ENGINES.find((s) => s.name === task.engine)
    if (!spec) throw new Error(`unknown engine ${task.engine}`)
    return runRep({ spec, window: task.window, mode: task.mode })
  }
  if (task.kind === 'link') return linkRep(task)
  return openLayout(task.layout, task.reps)
}

if (!process.send) throw new Error('worker.ts runs as a child of the benchmark (bench/index.ts)')
const answer = await run()
process.send(answer, () => process.exit(0))
