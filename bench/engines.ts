import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as A from '@automerge/automerge'
import { createClient, memoryStorage } from '@tidings/core'
import Database from 'better-sqlite3'
import { LoroDoc } from 'loro-crdt'
import * as Y from 'yjs'
import { messageKey, messageRecord, messageText, USER } from './workload.js'

/** Bytes an engine would store: one update per message appended, and its compacted state. */
export interface Sizes {
  readonly updates: number
  readonly compacted: number
}

/** One growing log: `append(i)` writes message i as its own transaction / change / commit. */
export interface Engine {
  append(i: number): void | Promise<void>
  sizes(): Sizes | Promise<Sizes>
  close(): void | Promise<void>
}

export interface EngineSpec {
  readonly name: string
  /** What one append does, for the table's footnotes. */
  readonly does: string
  /** Builds the engine; `prefill` messages are written first in bulk (only where `prefills`). */
  make(prefill: number): Engine | Promise<Engine>
  /** Whether `make` can prefill: such engines are too slow to reach 100k one change at a time. */
  readonly prefills?: boolean
  /** Repetitions of the append run that fit the time budget. */
  readonly reps: number
  /** Time every append to find the slowest one (a stall a user would feel). */
  readonly timeEach?: boolean
  /** The last point of the append log it reaches: 1 for 100k (default), 2 for 1M. */
  readonly reach?: number
  /** Left out of the append part unless BENCH_APPEND_ALL=1: a peer with no goal of its own. */
  readonly optional?: boolean
}

/** A period long enough that every message of a run lands in the same lane doc. */
export const ONE_PERIOD_MS = 366 * 24 * 3600 * 1000

const sum = (chunks: readonly Uint8Array[]) => chunks.reduce((n, c) => n + c.length, 0)

const yjs = (kind: 'array' | 'map'): Engine => {
  const doc = new Y.Doc()
  const stored: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => stored.push(update))
  // A doc can hold one root type per name, so only the one in use is created.
  let append: (i: number) => void
  if (kind === 'array') {
    const array = doc.getArray<unknown>('m')
    append = (i) => doc.transact(() => array.push([{ id: messageKey(i), ...messageRecord(i) }]))
  } else {
    const map = doc.getMap<unknown>('m')
    append = (i) => doc.transact(() => map.set(messageKey(i), messageRecord(i)))
  }
  return {
    append,
    sizes: () => ({ updates: sum(stored), compacted: Y.encodeStateAsUpdate(doc).length }),
    close: () => doc.destroy(),
  }
}

// Automerge turns JS strings into collaborative text; an immutable message wants scalar strings.
const imm = (s: string) => new A.ImmutableString(s)
const automergeRecord = (i: number) => {
  const r = messageRecord(i)
  return {
    author: imm(r.author),
    device: imm(r.device),
    stamp: { ...r.stamp },
    body: { text: imm(r.body.text) },
    priority: imm(r.priority),
  }
}

const automerge = (kind: 'list' | 'map', prefill: number): Engine => {
  const changes: number[] = []
  if (kind === 'list') {
    const init: unknown[] = []
    for (let i = 1; i <= prefill; i++) init.push({ id: imm(messageKey(i)), ...automergeRecord(i) })
    let doc = A.from<{ m: unknown[] }>({ m: init })
    return {
      append: (i) => {
        doc = A.change(doc, (d) => {
          d.m.push({ id: imm(messageKey(i)), ...automergeRecord(i) })
        })
        changes.push(A.getLastLocalChange(doc)?.length ?? 0)
      },
      sizes: () => ({ updates: changes.reduce((a, b) => a + b, 0), compacted: A.save(doc).length }),
      close: () => A.free(doc),
    }
  }
  const init: Record<string, unknown> = {}
  for (let i = 1; i <= prefill; i++) init[messageKey(i)] = automergeRecord(i)
  let doc = A.from<{ m: Record<string, unknown> }>({ m: init })
  return {
    append: (i) => {
      doc = A.change(doc, (d) => {
        d.m[messageKey(i)] = automergeRecord(i)
      })
      changes.push(A.getLastLocalChange(doc)?.length ?? 0)
    },
    sizes: () => ({ updates: changes.reduce((a, b) => a + b, 0), compacted: A.save(doc).length }),
    close: () => A.free(doc),
  }
}

const loro = (kind: 'list' | 'map'): Engine => {
  const doc = new LoroDoc()
  const stored: Uint8Array[] = []
  const unsubscribe = doc.subscribeLocalUpdates((update) => {
    stored.push(update)
  })
  let append: (i: number) => void
  if (kind === 'list') {
    const list = doc.getList('m')
    append = (i) => {
      list.push({ id: messageKey(i), ...messageRecord(i) })
      doc.commit()
    }
  } else {
    const map = doc.getMap('m')
    append = (i) => {
      map.set(messageKey(i), messageRecord(i))
      doc.commit()
    }
  }
  return {
    append,
    sizes: () => ({ updates: sum(stored), compacted: doc.export({ mode: 'snapshot' }).length }),
    close: () => {
      unsubscribe()
      doc.free()
    },
  }
}

const json = (): Engine => {
  const log: unknown[] = []
  return {
    append: (i) => {
      log.push({ id: messageKey(i), ...messageRecord(i) })
    },
    sizes: () => ({
      updates: log.reduce<number>((n, m) => n + Buffer.byteLength(JSON.stringify(m)) + 1, 0),
      compacted: Buffer.byteLength(JSON.stringify(log)),
    }),
    close: () => {
      log.length = 0
    },
  }
}

const sqlite = (): Engine => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-bench-'))
  const path = join(dir, 'bench.sqlite')
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('CREATE TABLE messages (id TEXT PRIMARY KEY, record TEXT NOT NULL)')
  const insert = db.prepare('INSERT INTO messages (id, record) VALUES (?, ?)')
  return {
    // Autocommit: each insert is its own transaction, as one send would be.
    append: (i) => {
      insert.run(messageKey(i), JSON.stringify(messageRecord(i)))
    },
    sizes: () => {
      db.pragma('wal_checkpoint(TRUNCATE)')
      const size = statSync(path).size
      return { updates: size, compacted: size }
    },
    close: () => {
      db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const CONVERSATION = 'bench-append'

/** Sends between two turns of the event loop, as when an app's sends come from events. */
export const YIELD_EVERY = 256

/**
 * Tidings' whole send path. `compact: false` hands the client a memoryStorage whose compactions do
 * nothing: a diagnostic that isolates what the client's compaction costs. Every YIELD_EVERY sends
 * the loop lets the event loop turn (setImmediate), so the compaction steps the client runs from a
 * timer run during the log, as in an app, and their cost is counted.
 */
const tidings = async (compact: boolean): Promise<Engine> => {
  const storage = memoryStorage()
  const noop = async () => {}
  const client = createClient({
    user: USER,
    storage: compact ? storage : { ...storage, compact: noop, compactTail: noop },
    periodMs: ONE_PERIOD_MS,
  })
  const convo = await client.open(CONVERSATION)
  return {
    append: async (i) => {
      await convo.send({ text: messageText(i) })
      if (i % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve))
    },
    sizes: async () => {
      const lanes = (await storage.listDocs(CONVERSATION)).filter((d) => d.doc.includes('/normal/'))
      if (lanes.length !== 1) throw new Error(`expected one lane doc, found ${lanes.length}`)
      const rows = (await storage.load(lanes[0]!.doc)).map((r) => r.update)
      return { updates: sum(rows), compacted: Y.mergeUpdates(rows).length }
    },
    close: () => client.close(),
  }
}

export const ENGINES: readonly EngineSpec[] = [
  { name: 'JSON array (push)', reps: 3, reach: 2, does: 'array.push(record)', make: json },
  {
    name: 'SQLite (insert per row)',
    reps: 3,
    does: 'one autocommit INSERT per message, WAL, synchronous=NORMAL, temp file',
    make: sqlite,
  },
  {
    name: 'Yjs Y.Array push',
    reps: 3,
    optional: true,
    does: 'transact(push([record])) per message',
    make: () => yjs('array'),
  },
  {
    name: 'Yjs Y.Map set by id',
    reps: 3,
    reach: 2,
    timeEach: true,
    does: 'transact(map.set(id, record)) per message',
    make: () => yjs('map'),
  },
  {
    name: 'Loro LoroList push',
    reps: 3,
    optional: true,
    does: 'list.push(record); commit() per message',
    make: () => loro('list'),
  },
  {
    name: 'Loro LoroMap set by id',
    reps: 3,
    does: 'map.set(id, record); commit() per message',
    make: () => loro('map'),
  },
  {
    name: 'Automerge list push',
    reps: 1,
    optional: true,
    does: 'change(d => d.m.push(record)) + getLastLocalChange per message',
    make: (prefill) => automerge('list', prefill),
    prefills: true,
  },
  {
    name: 'Automerge map set by id',
    reps: 1,
    does: 'change(d => { d.m[id] = record }) + getLastLocalChange per message',
    make: (prefill) => automerge('map', prefill),
    prefills: true,
  },
  {
    name: 'Tidings convo.send',
    reps: 3,
    reach: 2,
    timeEach: true,
    does: `await convo.send({ text }) into memoryStorage, one period; a setImmediate every ${YIELD_EVERY}`,
    make: () => tidings(true),
  },
  {
    name: 'Tidings, compact() a no-op (diagnostic)',
    reps: 3,
    optional: true,
    timeEach: true,
    does: 'as above, with storage.compact and compactTail replaced by no-ops',
    make: () => tidings(false),
  },
]
