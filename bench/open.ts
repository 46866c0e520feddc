import { createClient, DEFAULT_PERIOD_MS, memoryStorage, type StorageAdapter } from '@tidings/core'
import { inChild } from './child.js'
import { type Generated, generateConversation, type Layout } from './generate.js'
import { bytes, int, markdownTable, ms, seconds } from './table.js'
import { collectGarbage, log, median, messageKey, now, USER } from './workload.js'

const CONVERSATION = 'bench-open'
const FIRST_SCREEN = 50

export interface OpenResult {
  readonly layout: Layout
  readonly generated: Generated
  readonly generateMs: number
  readonly openMs: readonly number[]
  /** Process CPU ms per open: robust when other processes share the cores. */
  readonly cpuMs: readonly number[]
  /** Messages `convo.messages()` held after open, and what the check expected. */
  readonly loaded: number
  readonly expected: number
  readonly newestLoaded: string
  readonly ok: boolean
  readonly problem?: string
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

/** One fresh client on the shared storage: time to `open()` resolving, then what it shows. */
const openOnce = async (storage: StorageAdapter, generated: Generated) => {
  const client = createClient({ user: USER, storage })
  const cpu = process.cpuUsage()
  const start = now()
  const convo = await client.open(CONVERSATION)
  const elapsed = now() - start
  const used = process.cpuUsage(cpu)
  const messages = convo.messages()
  let problem: string | undefined
  // The loaded window must be the newest messages, contiguous and in order.
  for (let k = 0; k < messages.length && !problem; k++) {
    const want = messageKey(generated.newest - messages.length + 1 + k)
    if (messages[k]!.id !== want) problem = `position ${k} holds ${messages[k]!.id}, expected ${want}`
  }
  await client.close()
  return {
    elapsed,
    cpu: (used.user + used.system) / 1000,
    loaded: messages.length,
    newestLoaded: messages.at(-1)?.id ?? '-',
    problem,
  }
}

/** Generates one layout and times fresh clients opening it; runs inside a worker process. */
export const openLayout = async (layout: Layout, reps: number): Promise<OpenResult> => {
  const storage = memoryStorage()
  const start = now()
  const generated = await generateConversation(storage, CONVERSATION, layout, DEFAULT_PERIOD_MS)
  const generateMs = now() - start
  log(`  generated ${int(generated.rows)} rows, ${bytes(generated.bytes)} in ${seconds(generateMs)}`)
  // A client's close() closes its storage; the shared one must outlive every client.
  const shared: StorageAdapter = { ...storage, close: async () => {} }
  for (let w = 0; w < 2; w++) await openOnce(shared, generated)
  collectGarbage()
  const openMs: number[] = []
  const cpuMs: number[] = []
  let last: Awaited<ReturnType<typeof openOnce>> | undefined
  for (let r = 0; r < reps; r++) {
    last = await openOnce(shared, generated)
    openMs.push(last.elapsed)
    cpuMs.push(last.cpu)
  }
  const expected = expectedLoaded(layout)
  const problem =
    last?.problem ?? (last?.loaded === expected ? undefined : `loaded ${last?.loaded}, expected ${expected}`)
  log(`  open median ${ms(median(openMs))}, loaded ${last?.loaded}${problem ? `, PROBLEM: ${problem}` : ''}`)
  await storage.close()
  return {
    layout,
    generated,
    generateMs,
    openMs,
    cpuMs,
    loaded: last?.loaded ?? 0,
    expected,
    newestLoaded: last?.newestLoaded ?? '-',
    ok: problem === undefined,
    ...(problem ? { problem } : {}),
  }
}

/** Each layout in its own process, so a million stored rows never weigh on the next one's GC. */
export const runOpen = async (layouts: readonly Layout[], reps: number): Promise<OpenResult[]> => {
  const results: OpenResult[] = []
  for (const layout of layouts) {
    log(`open: ${layout.label}`)
    results.push(await inChild<OpenResult>({ kind: 'open', layout, reps }))
  }
  return results
}

export const openTable = (results: readonly OpenResult[]): string =>
  markdownTable(
    [
      'conversation',
      'docs',
      'stored rows',
      'stored bytes',
      'open() median',
      'min–max',
      'CPU median',
      'messages() after open',
      'newest loaded',
      'check',
    ],
    results.map((r) => [
      r.layout.label,
      int(r.generated.docs),
      int(r.generated.rows),
      bytes(r.generated.bytes),
      ms(median(r.openMs)),
      `${ms(Math.min(...r.openMs))}–${ms(Math.max(...r.openMs))}`,
      ms(median(r.cpuMs)),
      int(r.loaded),
      r.newestLoaded === messageKey(r.generated.newest)
        ? `yes (#${int(r.generated.newest)})`
        : r.newestLoaded,
      r.ok ? 'ok' : `FAIL: ${r.problem}`,
    ]),
  )
