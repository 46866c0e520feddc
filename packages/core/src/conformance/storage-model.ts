import * as fc from 'fast-check'
import { expect } from 'vitest'
import { applyUpdate, Doc, encodeStateAsUpdate, encodeStateVector, mergeUpdates } from 'yjs'
import type { DocInfo, OutboxEntry, StorageAdapter, UpdateWrite, WriteBatch } from '../storage.js'
import {
  clean,
  conversationArb,
  docNameArb,
  filledBytes,
  indexArb,
  keyArb,
  sameBytes,
  sizeArb,
} from './arbitraries.js'

/** Docs, conversations and metadata keys one run works with. */
export interface Pool {
  readonly convs: readonly string[]
  readonly docs: readonly string[]
  readonly keys: readonly string[]
}
export const poolArb: fc.Arbitrary<Pool> = fc
  .uniqueArray(conversationArb, { minLength: 1, maxLength: 3 })
  .chain((convs) =>
    fc.record({
      convs: fc.constant(convs),
      // One name always extends another ('a/meta', 'a/meta0'), so exact matches are put to the test.
      docs: fc
        .tuple(
          fc.uniqueArray(docNameArb(convs), { minLength: 1, maxLength: 5 }),
          fc.constantFrom('0', '/1', ' ', 'é'),
        )
        .map(([docs, ext]) => [...new Set([...docs, `${docs[0]}${ext}`])]),
      keys: fc.uniqueArray(keyArb, { minLength: 1, maxLength: 4 }),
    }),
  )
export const pick = <T>(list: readonly T[], i: number): T => list[i % list.length]!
/** Conversations to list: the pool's, and the first segment of any doc name that is a conversation id. */
const listed = (pool: Pool) => [
  ...new Set([
    ...pool.convs,
    ...pool.docs.map((d) => d.split('/')[0]!).filter((c) => /^[A-Za-z0-9._-]{1,128}$/.test(c)),
  ]),
]

const info = ({ doc, updates, messages, newest }: DocInfo): DocInfo => ({ doc, updates, messages, newest })
export const byDoc = (list: DocInfo[]) =>
  list.map(info).sort((a, b) => (a.doc < b.doc ? -1 : a.doc > b.doc ? 1 : 0))
/** Bytes as hex: vitest's deep equality walks a typed array key by key, which is slow for big ones. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))
const hex = (bytes: Uint8Array) => {
  if (!(bytes instanceof Uint8Array)) return `not a Uint8Array: ${String(bytes)}`
  let text = ''
  for (const b of bytes) text += HEX[b]
  return text
}
type PlainEntry = Omit<OutboxEntry, 'update'> & { update: string }
const plainEntry = ({ key, doc, lane, update, messages }: OutboxEntry): PlainEntry => ({
  key,
  doc,
  lane,
  update: hex(update),
  messages: [...messages],
})

/** What a Yjs update does: its state vector and the entries of map `m` (any encoding of it will do). */
const effect = (update: Uint8Array) => {
  const doc = new Doc({ guid: 'effect' })
  try {
    applyUpdate(doc, update)
  } catch (error) {
    return { error: `not a Yjs update: ${error}` }
  }
  const entries = [...doc.getMap('m').entries()].map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`)
  const result = {
    vector: [...encodeStateVector(doc)],
    entries: entries.sort(),
    pending: doc.store.pendingStructs !== null,
  }
  doc.destroy()
  return result
}

/** What is wrong with loaded rows, against the model's: one assertion per doc keeps the checks fast. */
const rowProblems = (rows: { n: number; update: Uint8Array }[], want: ModelRow[]) =>
  rows.flatMap(({ n, update }, i) => {
    const w = want[i]
    const previous = rows[i - 1]?.n
    return [
      typeof n !== 'number' || !Number.isFinite(n) ? `row ${i}: n ${n} is not a number` : '',
      previous !== undefined && !(n > previous) ? `row ${i}: n ${n} does not ascend after ${previous}` : '',
      w?.n !== undefined && n !== w.n ? `row ${i}: n changed from ${w.n} to ${n}` : '',
      w && !w.merged && !sameBytes(update, w.bytes) ? `row ${i}: bytes differ from those written` : '',
    ].filter(Boolean)
  })

// ---- A model of a store, and writes that real Yjs docs produce ----

export interface ModelRow {
  bytes: Uint8Array
  merged: boolean
  n?: number
}
export interface Model {
  readonly pool: Pool
  readonly docs: Map<string, { rows: ModelRow[]; messages: number; newest: number }>
  readonly meta: Map<string, string>
  outbox: PlainEntry[]
  readonly authors: Map<string, Doc[]>
  readonly reopenable: boolean
  clients: number
  keys: number
}
export const newModel = (pool: Pool, reopenable = false): Model => ({
  pool,
  reopenable,
  docs: new Map(),
  meta: new Map(),
  outbox: [],
  authors: new Map(),
  clients: 1,
  keys: 1,
})

type Value = string | number | boolean | { big: number }
// Now and then a value of up to ~120 KB, so updates of real size pass through compaction.
const valueArb: fc.Arbitrary<Value> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.integer(), fc.boolean()),
  },
  { weight: 1, arbitrary: fc.record({ big: fc.nat({ max: 120_000 }) }) },
)
export const messagesArb = fc.option(fc.nat({ max: 1000 }), { nil: undefined })
export const newestArb = fc.option(fc.oneof(fc.nat(), fc.integer({ min: 1.6e12, max: 8.64e15 })), {
  nil: undefined,
})
const LANES = ['urgent', 'high', 'normal', 'low', 'control', 'receipts', 'meta'] as const
/** A batch, by indices into the pool, so that it prints small and shrinks well. */
export interface WriteSpec {
  readonly updates: {
    doc: number
    author: number
    sets: [string, Value | null][]
    messages: number | undefined
    newest: number | undefined
  }[]
  readonly meta: [number, string | null][]
  readonly outbox: {
    key: number
    doc: number
    lane: (typeof LANES)[number]
    size: number
    messages: string[]
  }[]
  readonly acked: number[]
}
export const writeSpecArb: fc.Arbitrary<WriteSpec> = fc.record({
  updates: fc.array(
    fc.record({
      doc: indexArb,
      author: fc.nat({ max: 1 }),
      sets: fc.array(fc.tuple(fc.constantFrom('a', 'b', 'ü', '', '__proto__'), fc.option(valueArb)), {
        minLength: 1,
        maxLength: 3,
      }),
      messages: messagesArb,
      newest: newestArb,
    }),
    { maxLength: 3 },
  ),
  meta: fc.array(
    fc.tuple(
      indexArb,
      fc.option(fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }).filter(clean), fc.constant('')), {
        nil: null,
      }),
    ),
    { maxLength: 3 },
  ),
  outbox: fc.array(
    fc.record({
      key: indexArb,
      doc: indexArb,
      lane: fc.constantFrom(...LANES),
      size: sizeArb(4096),
      messages: fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }),
    }),
    { maxLength: 2 },
  ),
  acked: fc.array(indexArb, { maxLength: 2 }),
})

const authorsOf = (model: Model, doc: string): Doc[] => {
  let authors = model.authors.get(doc)
  if (!authors) {
    authors = [0, 1].map(() => {
      const author = new Doc({ guid: doc })
      author.clientID = model.clients++
      return author
    })
    model.authors.set(doc, authors)
  }
  return authors
}

/** Builds the batch a spec describes; Yjs updates come from the model's author docs. */
export const buildBatch = (model: Model, spec: WriteSpec): WriteBatch => {
  const { pool } = model
  const updates = spec.updates.map(({ doc: d, author: a, sets, messages, newest }): UpdateWrite => {
    const doc = pick(pool.docs, d)
    const author = pick(authorsOf(model, doc), a)
    const before = encodeStateVector(author)
    const map = author.getMap('m')
    author.transact(() => {
      for (const [k, v] of sets) {
        if (v === null) map.delete(k)
        else map.set(k, typeof v === 'object' ? 'v'.repeat(v.big) : v)
      }
    })
    const update = encodeStateAsUpdate(author, before)
    return {
      doc,
      update,
      ...(messages === undefined ? {} : { messages }),
      ...(newest === undefined ? {} : { newest }),
    }
  })
  const meta = Object.fromEntries(spec.meta.map(([k, v]) => [pick(pool.keys, k), v]))
  const acked = spec.acked.map((i) => (model.outbox.length > 0 ? pick(model.outbox, i).key : `unknown#${i}`))
  const outbox = spec.outbox.map(({ key, doc, lane, size, messages }) => ({
    key: `${pick(pool.keys, key)}#${model.keys++}`,
    doc: pick(pool.docs, doc),
    lane,
    update: filledBytes(size, model.keys),
    messages,
  }))
  return {
    ...(updates.length > 0 ? { updates } : {}),
    ...(spec.meta.length > 0 ? { meta } : {}),
    ...(outbox.length > 0 ? { outbox } : {}),
    ...(acked.length > 0 ? { acked } : {}),
  }
}

/** Applies a committed batch to the model. */
export const applyBatch = (model: Model, batch: WriteBatch) => {
  for (const { doc, update, messages, newest } of batch.updates ?? []) {
    const entry = model.docs.get(doc) ?? { rows: [], messages: 0, newest: 0 }
    model.docs.set(doc, entry)
    entry.rows.push({ bytes: update.slice(), merged: false })
    entry.messages += messages ?? 0
    entry.newest = Math.max(entry.newest, newest ?? 0)
  }
  for (const [key, value] of Object.entries(batch.meta ?? {})) {
    if (value === null) model.meta.delete(key)
    else model.meta.set(key, value)
  }
  for (const entry of batch.outbox ?? []) model.outbox.push(plainEntry(entry))
  const acked = new Set(batch.acked ?? [])
  model.outbox = model.outbox.filter((e) => !acked.has(e.key))
}

export const compactModel = (model: Model, doc: string) => {
  const entry = model.docs.get(doc)
  if (!entry || entry.rows.length === 0) return
  // One row may be kept or rewritten; several must become one with the same effect.
  entry.rows = [{ bytes: mergeUpdates(entry.rows.map((r) => r.bytes)), merged: true }]
}
/** `compactTail` on the model: the newest rows that fit in `maxBytes` together become one. */
export const compactTailModel = (model: Model, doc: string, maxBytes: number) => {
  const entry = model.docs.get(doc)
  if (!entry) return
  let from = entry.rows.length
  for (let bytes = 0; from > 0 && bytes + entry.rows[from - 1]!.bytes.length <= maxBytes; from--)
    bytes += entry.rows[from - 1]!.bytes.length
  if (entry.rows.length - from < 2) return
  const merged = mergeUpdates(entry.rows.slice(from).map((r) => r.bytes))
  entry.rows = [...entry.rows.slice(0, from), { bytes: merged, merged: true }]
}
const dropModel = (model: Model, doc: string) => {
  model.docs.delete(doc)
  model.authors.delete(doc)
  model.outbox = model.outbox.filter((e) => e.doc !== doc)
}

/** Compares every observable of the store with the model. */
export const expectModel = async (adapter: StorageAdapter, model: Model) => {
  for (const c of listed(model.pool)) {
    const want = [...model.docs]
      .filter(([doc]) => doc.startsWith(`${c}/`))
      .map(([doc, m]) => ({ doc, updates: m.rows.length, messages: m.messages, newest: m.newest }))
    expect(byDoc(await adapter.listDocs(c)), `listDocs(${JSON.stringify(c)})`).toEqual(byDoc(want))
  }
  for (const doc of model.pool.docs) {
    const what = `load(${JSON.stringify(doc)})`
    const rows = await adapter.load(doc)
    const want = model.docs.get(doc)?.rows ?? []
    expect({ rows: rows.length, problems: rowProblems(rows, want) }, what).toEqual({
      rows: want.length,
      problems: [],
    })
    for (const [i, row] of rows.entries()) {
      const w = want[i]!
      if (w.merged) expect(effect(row.update), `${what}: compacted row`).toEqual(effect(w.bytes))
      w.n ??= row.n
    }
  }
  for (const key of model.pool.keys) {
    expect(await adapter.getMeta(key), `getMeta(${JSON.stringify(key)})`).toBe(model.meta.get(key))
  }
  expect((await adapter.outbox()).map(plainEntry), 'outbox()').toEqual(model.outbox)
  // The per-doc reads are optional; when present they must tell the same outbox, doc by doc.
  const { outboxDocs, outboxOf } = adapter
  if (outboxDocs && outboxOf) {
    const docs = [...new Set(model.outbox.map((e) => e.doc))].sort()
    expect([...(await outboxDocs.call(adapter))].sort(), 'outboxDocs()').toEqual(docs)
    for (const doc of docs) {
      expect((await outboxOf.call(adapter, doc)).map(plainEntry), `outboxOf(${JSON.stringify(doc)})`).toEqual(
        model.outbox.filter((e) => e.doc === doc),
      )
    }
  }
}

export interface Real {
  adapter: StorageAdapter
  readonly reopen: (() => Promise<StorageAdapter>) | undefined
}
type Command = fc.AsyncCommand<Model, Real>
/** A command; `run` may return a label naming what it resolved (a doc name), shown in counterexamples. */
const command = (
  name: string,
  run: (model: Model, real: Real) => Promise<string | undefined>,
  check: (model: Model) => boolean = () => true,
): Command => {
  let label = name
  return {
    check,
    async run(model, real) {
      label = (await run(model, real)) ?? name
      await expectModel(real.adapter, model)
    },
    toString: () => label,
  }
}
const writeCommand = (spec: WriteSpec) =>
  command(`write(${JSON.stringify(spec)})`, async (model, real) => {
    const batch = buildBatch(model, spec)
    await real.adapter.write(batch)
    applyBatch(model, batch)
    return undefined
  })
const compactCommand = (d: number) =>
  command(`compact(${d})`, async (model, real) => {
    const doc = pick(model.pool.docs, d)
    await real.adapter.compact(doc)
    compactModel(model, doc)
    return `compact(${JSON.stringify(doc)})`
  })
const dropCommand = (d: number) =>
  command(`drop(${d})`, async (model, real) => {
    const doc = pick(model.pool.docs, d)
    await real.adapter.drop(doc)
    dropModel(model, doc)
    return `drop(${JSON.stringify(doc)})`
  })
const reopenCommand = command(
  'reopen()',
  async (_model, real) => {
    await real.adapter.close()
    real.adapter = await real.reopen!()
    return undefined
  },
  (model) => model.reopenable,
)
export const commandsArb = fc.commands(
  [
    writeSpecArb.map(writeCommand),
    writeSpecArb.map(writeCommand),
    indexArb.map(compactCommand),
    indexArb.map(dropCommand),
    fc.constant(reopenCommand),
  ],
  { maxCommands: 30, size: 'medium' },
)

export const write = async (adapter: StorageAdapter, model: Model, spec: WriteSpec) => {
  const batch = buildBatch(model, spec)
  await adapter.write(batch)
  applyBatch(model, batch)
}
