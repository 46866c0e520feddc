import type { DocRecord, OutboxRecord } from './records.js'
import { type DocState, putDoc, readDoc, rowRange } from './rows.js'
import { request } from './transaction.js'
import type { CheckedBatch } from './validate.js'
import type { Known, OutboxKnown, Written } from './write-cache.js'

/** The highest `order` of the outbox, 0 when it is empty. */
const lastOrder = async (outbox: IDBObjectStore): Promise<number> => {
  const cursor = await request(outbox.index('order').openKeyCursor(null, 'prev'))
  return typeof cursor?.key === 'number' ? cursor.key : 0
}

/** The orders of those of `keys` that are stored. */
const ordersOf = async (outbox: IDBObjectStore, keys: readonly string[]): Promise<Map<string, number>> => {
  const records = await Promise.all(
    keys.map((key) => request(outbox.get(key)) as Promise<Partial<OutboxRecord> | undefined>),
  )
  const orders = new Map<string, number>()
  keys.forEach((key, i) => {
    const order = records[i]?.order
    if (typeof order === 'number') orders.set(key, order)
  })
  return orders
}

interface OutboxBase {
  readonly last: number
  /** Orders of the batch's keys that are stored already: a rewritten key keeps its place. */
  readonly orders: Map<string, number>
  /** Every stored key, when the whole list was read to learn it. */
  readonly all?: Set<IDBValidKey>
}

/**
 * What the outbox part of a batch builds on. From what is known, only rewritten keys are read;
 * otherwise the last order and the batch's keys, or with `learn` every key (once, to know it after).
 */
const readOutboxBase = async (
  outbox: IDBObjectStore,
  keys: readonly string[],
  learn: boolean,
): Promise<OutboxBase> => {
  if (!learn) {
    const [last, orders] = await Promise.all([lastOrder(outbox), ordersOf(outbox, keys)])
    return { last, orders }
  }
  const [last, stored] = await Promise.all([lastOrder(outbox), request(outbox.getAllKeys())])
  const all = new Set(stored)
  return {
    last,
    all,
    orders: await ordersOf(
      outbox,
      keys.filter((key) => all.has(key)),
    ),
  }
}

const knownBase = (
  outbox: IDBObjectStore,
  keys: readonly string[],
  known: OutboxKnown,
): OutboxBase | Promise<OutboxBase> => {
  const rewritten = keys.filter((key) => known.keys.has(key))
  // Nothing to read (every send): the writes are issued at once, in the task that began the transaction.
  if (rewritten.length === 0) return { last: known.last, orders: new Map<string, number>() }
  return ordersOf(outbox, rewritten).then((orders) => ({ last: known.last, orders }))
}

/**
 * The body of `write(batch)` inside one read-write transaction over every store: reads what the
 * batch builds on and `known` does not hold (doc records, outbox order), then issues every change in
 * batch order. Returns what holds once the transaction commits, for the cache to keep.
 */
export const writeBatch = async (
  tx: IDBTransaction,
  KeyRange: typeof IDBKeyRange,
  batch: CheckedBatch,
  known: Known,
): Promise<Written> => {
  const outbox = tx.objectStore('outbox')
  const names = [...new Set(batch.updates.map((u) => u.doc))]
  const unknown = names.filter((doc) => !known.docs.has(doc))
  // Taken before any await: the states this write builds on.
  const states = new Map<string, DocState>()
  for (const doc of names) {
    const record = known.docs.get(doc)
    if (record) states.set(doc, { record })
  }
  const keys = [...new Set(batch.outbox.map((e) => e.key))]
  const changesOutbox = keys.length > 0 || batch.acked.length > 0
  const baseOf = () => {
    if (!changesOutbox) return undefined
    if (known.outbox) return knownBase(outbox, keys, known.outbox)
    return readOutboxBase(outbox, keys, known.learn)
  }
  const pending = baseOf()
  let read: DocState[] = []
  let base = pending instanceof Promise ? undefined : pending
  if (unknown.length > 0 || pending instanceof Promise)
    [read, base] = await Promise.all([
      Promise.all(unknown.map((doc) => readDoc(tx, rowRange(KeyRange, doc), doc))),
      pending,
    ])

  for (const [i, doc] of unknown.entries()) states.set(doc, read[i]!)
  const updates = tx.objectStore('updates')
  for (const u of batch.updates) {
    const state = states.get(u.doc)!
    const { record } = state
    // add, not put: should a count ever be wrong, the transaction fails instead of overwriting a row.
    updates.add(u.update, [u.doc, record.next])
    state.record = {
      updates: record.updates + 1,
      messages: record.messages + u.messages,
      newest: Math.max(record.newest, u.newest),
      next: record.next + 1,
    }
  }
  const docs = new Map<string, DocRecord>()
  for (const [doc, state] of states) {
    putDoc(tx, doc, state)
    docs.set(doc, state.record)
  }

  const meta = tx.objectStore('meta')
  for (const [key, value] of batch.meta) {
    if (value === null) meta.delete(key)
    else meta.put(value, key)
  }

  if (!base) return { docs }
  // A rewritten key keeps its place, as a Map would; a new one goes after every other.
  let order = base.last
  const added: string[] = []
  for (const key of keys) {
    if (base.orders.has(key)) continue
    base.orders.set(key, ++order)
    added.push(key)
  }
  for (const e of batch.outbox) outbox.put({ ...e, order: base.orders.get(e.key)! })
  for (const key of batch.acked) outbox.delete(key)
  return {
    docs,
    outbox: { last: order, added, removed: batch.acked, ...(base.all ? { before: base.all } : {}) },
  }
}
