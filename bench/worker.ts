import { runRep } from './append.js'
import type { Task } from './child.js'
import { ENGINES } from './engines.js'
import { runFanout } from './fanout.js'
import { measureHeap } from './heap.js'
import { measureJoin } from './join.js'
import { linkRep } from './link-rep.js'
import { openLayouts } from './open.js'
import { rawBurst, tidingsBurst } from './sqlite-full.js'
import { stallRep } from './stall.js'
import { wireRep } from './wire.js'

// Entry point of a worker process started by `inChild`: one task, one answer, then exit.
const task = JSON.parse(process.argv[2] ?? '{}') as Task
const run = async (): Promise<unknown> => {
  if (task.kind === 'append') {
    const spec = ENGINES.find((s) => s.name === task.engine)
    if (!spec) throw new Error(`unknown engine ${task.engine}`)
    return runRep({ spec, window: task.window, mode: task.mode })
  }
  if (task.kind === 'wire') return wireRep(task.messages, task.texts)
  if (task.kind === 'fanout') return runFanout(task)
  if (task.kind === 'burst') {
    return task.engine === 'tidings'
      ? tidingsBurst(task.messages)
      : rawBurst(task.messages, task.perTransaction)
  }
  if (task.kind === 'stall') return stallRep(task.engine, task.messages)
  if (task.kind === 'link') return linkRep(task)
  if (task.kind === 'heap') return measureHeap(task.layout)
  if (task.kind === 'join') return measureJoin(task.layout)
  return openLayouts(task.layouts, task.storage, task.reps)
}

if (!process.send) throw new Error('worker.ts runs as a child of the benchmark (bench/index.ts)')
const answer = await run()
process.send(answer, () => process.exit(0))
