import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient, DEFAULT_PERIOD_MS } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { inChild } from './child.js'
import { generateConversation, type Layout } from './generate.js'
import { collectGarbage, log, messageKey, messageRecord, USER } from './workload.js'

const CONVERSATION = 'bench-heap'

/** Retained heap of one way of holding the same messages, per message. */
export interface HeapResult {
  readonly messages: number
  /** Tidings: bytes of heap a client holds per message once every period is loaded. */
  readonly tidings: number
  /** Peer: bytes per message of the same records parsed from JSON lines and kept in an array. */
  readonly json: number
}

/** heapUsed after a full GC (twice: weak callbacks and finalizers free more on the second). */
const settledHeap = (): number => {
  collectGarbage()
  collectGarbage()
  return process.memoryUsage().heapUsed
}

/**
 * Fills a SQLite file with `layout`, then in this process measures the heap a client retains with
 * every message loaded (`open`, then `loadOlder()` until it reports nothing older), and the heap
 * the same records retain as parsed JSON objects.
 */
export const measureHeap = async (layout: Layout): Promise<HeapResult> => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-bench-heap-'))
  const path = join(dir, 'heap.sqlite')
  try {
    const file = sqliteStorage({ path, durability: 'normal' })
    const generated = await generateConversation(file, CONVERSATION, layout, DEFAULT_PERIOD_MS)
    await file.close()
    const storage = sqliteStorage({ path })
    const base = settledHeap()
    const client = createClient({ user: USER, storage })
    const convo = await client.open(CONVERSATION)
    while (await convo.loadOlder()) {}
    const shown = convo.messages().length
    const tidings = settledHeap() - base
    if (shown !== layout.messages) throw new Error(`loaded ${shown} of ${layout.messages} messages`)
    await client.close()
    // The peer: what an app holding plain JSON keeps, the id beside each record. The text is made
    // before the baseline and kept until after the measure: only the parsed objects are counted.
    const lines: string[] = []
    for (let i = 1; i <= generated.newest; i++)
      lines.push(JSON.stringify({ id: messageKey(i), ...messageRecord(i) }))
    const before = settledHeap()
    const parsed = lines.map((line) => JSON.parse(line) as unknown)
    const json = settledHeap() - before
    lines.length = 0
    if (parsed.length !== layout.messages) throw new Error('parsed a different count')
    log(
      `  heap: Tidings ${(tidings / shown).toFixed(0)} B/msg, JSON ${(json / parsed.length).toFixed(0)} B/msg`,
    )
    return { messages: shown, tidings: tidings / shown, json: json / parsed.length }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export const runHeap = (layout: Layout): Promise<HeapResult> => inChild<HeapResult>({ kind: 'heap', layout })
