import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Conversation,
  createClient,
  DEFAULT_PERIOD_MS,
  memoryStorage,
  type StorageAdapter,
} from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { inChild } from './child.js'
import { type Generated, generateConversation, type Layout } from './generate.js'
import { bytes, int, seconds } from './table.js'
import { collectGarbage, log, messageKey, now, USER } from './workload.js'

export const CONVERSATION = 'bench-open'
const FIRST_SCREEN = 50

export const STORAGES = ['sqlite', 'memory'] as const
export type StorageKind = (typeof STORAGES)[number]

/** What the opens of one layout on one storage measured, one value per repetition. */
export interface OpenSeries {
  readonly openMs: readonly number[]
  /** Process CPU ms per open: robust when other processes share the cores. */
  readonly cpuMs: readonly number[]
  /** heapUsed right after `open()` resolved minus heapUsed after a full GC just before it. */
  readonly heapBytes: readonly number[]
  /** The same for memory outside the JS heap (Buffers, ArrayBuffers, SQLite's own). */
  readonly externalBytes: readonly number[]
  /** Messages `convo.messages()` held after open, and what the check expected. */
  readonly loaded: number
  readonly expected: number
  readonly newestLoaded: string
  readonly ok: boolean
  readonly problem?: string
}

export interface OpenResult {
  readonly layout: Layout
  readonly generated: Generated
  readonly storages: Readonly<Record<StorageKind, OpenSeries>>
}

/** Messages open() should load: whole periods, newest first, until the first screen is full. */
const expectedLoaded = (layout: Layout): number => {
  const periods = Math.ceil(layout.messages / layout.perPeriod)
  let loaded = 0
  for (let p = periods - 1; p >= 0 && loaded < FIRST_SCREEN; p--) {
    loaded += Math.min(layout.perPeriod, layout.messages - p * layout.perPeriod)
  }
  return loaded
}

/**
 * How many messages `pending()` lists, waiting up to 10 s for `expected`: a storage that reads
 * outbox entries per doc lists those of the loaded docs at first and calls listeners once the rest
 * is read.
 */
const pendingListed = (convo: Conversation, expected: number): Promise<number> =>
  new Promise((resolve) => {
    const finish = () => {
      stop()
      clearTimeout(timer)
      resolve(convo.pending().length)
    }
    const stop = convo.subscribe(() => {
      if (convo.pending().length === expected) finish()
    })
    const timer = setTimeout(finish, 10_000)
    if (convo.pending().length === expected) finish()
  })

/**
 * One fresh client on the storage: time and heap growth to `open()` resolving, then what it shows.
 * The storage is made (a SQLite file opened) before the clock starts: that is the app's start, not
 * the conversation's. `checkPending`: also wait for `pending()` to list every unsent message (after
 * the timed reps only: the read it starts leaves garbage the next rep would collect).
 */
const openOnce = async (
  storage: StorageAdapter,
  layout: Layout,
  generated: Generated,
  checkPending = false,
) => {
  collectGarbage()
  const before = process.memoryUsage()
  const cpu = process.cpuUsage()
  const start = now()
  const client = createClient({ user: USER, storage })
  const convo = await client.open(CONVERSATION)
  const elapsed = now() - start
  const used = process.cpuUsage(cpu)
  const after = process.memoryUsage()
  const messages = convo.messages()
  let problem: string | undefined
  // The loaded window must be the newest messages, contiguous and in order.
  for (let k = 0; k < messages.length && !problem; k++) {
    const want = messageKey(generated.newest - messages.length + 1 + k)
    if (messages[k]!.id !== want) problem = `position ${k} holds ${messages[k]!.id}, expected ${want}`
  }
  // Unsent messages must show as pending, acknowledged ones must not.
  const wanted = layout.unsent ? 'pending' : 'sent'
  const wrong = messages.find((m) => m.status !== wanted)
  if (!problem && wrong) problem = `${wrong.id} is ${wrong.status}, expected ${wanted}`
  if (!problem && checkPending && layout.unsent) {
    const listed = await pendingListed(convo, layout.messages)
    if (listed !== layout.messages) problem = `pending() lists ${listed}, expected ${layout.messages}`
  }
  await client.close()
  return {
    elapsed,
    cpu: (used.user + used.system) / 1000,
    heap: after.heapUsed - before.heapUsed,
    external: after.external - before.external,
    loaded: messages.length,
    newestLoaded: messages.at(-1)?.id ?? '-',
    problem,
  }
}

/**
 * Generates one layout into one storage and times fresh clients opening it; runs in a worker, one
 * per storage kind, so the other storage's contents never weigh on this one's GC.
 */
export const openLayout = async (layout: Layout, kind: StorageKind, reps: number): Promise<Measured> => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-bench-open-'))
  const path = join(dir, 'open.sqlite')
  const memory = memoryStorage()
  try {
    const start = now()
    const target = kind === 'sqlite' ? sqliteStorage({ path, durability: 'normal' }) : memory
    const generated = await generateConversation(target, CONVERSATION, layout, DEFAULT_PERIOD_MS)
    if (kind === 'sqlite') await target.close()
    log(
      `  ${kind}: generated ${int(generated.rows)} rows, ${bytes(generated.bytes)} in ${seconds(now() - start)}`,
    )
    // A client's close() closes its storage: the memory one must outlive every client, and each
    // SQLite client opens the file afresh, as an app does when it starts.
    const storage = (): StorageAdapter =>
      kind === 'sqlite' ? sqliteStorage({ path }) : { ...memory, close: async () => {} }
    for (let w = 0; w < 2; w++) await openOnce(storage(), layout, generated)
    const runs: Awaited<ReturnType<typeof openOnce>>[] = []
    for (let r = 0; r < reps; r++) runs.push(await openOnce(storage(), layout, generated))
    const checked = await openOnce(storage(), layout, generated, true)
    const expected = expectedLoaded(layout)
    const last = runs.at(-1)!
    const problem =
      [...runs, checked].find((s) => s.problem)?.problem ??
      (last.loaded === expected ? undefined : `loaded ${last.loaded}, expected ${expected}`)
    if (problem) log(`  ${kind}: PROBLEM: ${problem}`)
    return {
      generated,
      openMs: runs.map((s) => s.elapsed),
      cpuMs: runs.map((s) => s.cpu),
      heapBytes: runs.map((s) => s.heap),
      externalBytes: runs.map((s) => s.external),
      loaded: last.loaded,
      expected,
      newestLoaded: last.newestLoaded,
      ok: problem === undefined,
      ...(problem ? { problem } : {}),
    }
  } finally {
    await memory.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The opens of several layouts on one storage, one after the other; runs in a worker. */
export const openLayouts = async (
  layouts: readonly Layout[],
  kind: StorageKind,
  reps: number,
): Promise<Measured[]> => {
  const measured: Measured[] = []
  for (const layout of layouts) measured.push(await openLayout(layout, kind, reps))
  return measured
}

type Measured = OpenSeries & { generated: Generated }

/**
 * Each layout and storage in its own process, so a million stored rows never weigh on the next
 * one's GC; `shared`: every layout of a storage in one process (the smoke run's tiny sizes, where
 * starting processes would cost more than the opens).
 */
export const runOpen = async (
  layouts: readonly Layout[],
  reps: number,
  shared = false,
): Promise<OpenResult[]> => {
  const batches = shared ? [layouts] : layouts.map((layout) => [layout])
  const results: OpenResult[] = []
  for (const batch of batches) {
    log(`open: ${batch.map((l) => l.label).join('; ')}`)
    // One after the other: two workers at once would share the cores they are timed on.
    const sqlite = await inChild<Measured[]>({ kind: 'open', layouts: batch, storage: 'sqlite', reps })
    const memory = await inChild<Measured[]>({ kind: 'open', layouts: batch, storage: 'memory', reps })
    for (const [k, layout] of batch.entries())
      results.push({
        layout,
        generated: sqlite[k]!.generated,
        storages: { sqlite: sqlite[k]!, memory: memory[k]! },
      })
  }
  return results
}
