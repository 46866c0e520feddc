import type { OutboxRecord } from './records.js'
import { type DocState, putDoc, readDoc, rowRange } from './rows.js'
import { request } from './transaction.js'
import type { CheckedBatch } from './validate.js'

/**
 * The body of `write(batch)` inside one read-write transaction over every store: reads what the
 * batch builds on (doc records, outbox order), then issues every change in batch order.
 */
export const writeBatch = async (
  tx: IDBTransaction,
  KeyRange: typeof IDBKeyRange,
  batch: CheckedBatch,
): Promise<void> => {
  const outbox = tx.objectStore('outbox')
  const names = [...new Set(batch.updates.map((u) => u.doc))]
  const keys = [...new Set(batch.outbox.map((e) => e.key))]
  const [states, last, existing] = await Promise.all([
    Promise.all(names.map((doc) => readDoc(tx, rowRange(KeyRange, doc), doc))),
    keys.length === 0 ? undefined : request(outbox.index('order').openKeyCursor(null, 'prev')),
    Promise.all(keys.map((key) => request(outbox.get(key)) as Promise<Partial<OutboxRecord> | undefined>)),
  ])

  const docs = new Map<string, DocState>(names.map((doc, i) => [doc, states[i]!]))
  const updates = tx.objectStore('updates')
  for (const u of batch.updates) {
    const state = docs.get(u.doc)!
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
  for (const [doc, state] of docs) putDoc(tx, doc, state)

  const meta = tx.objectStore('meta')
  for (const [key, value] of batch.meta) {
    if (value === null) meta.delete(key)
    else meta.put(value, key)
  }

  // A rewritten key keeps its place, as a Map would; a new one goes after every other.
  let order = typeof last?.key === 'number' ? last.key : 0
  const orders = new Map<string, number>()
  keys.forEach((key, i) => {
    const old = existing[i]?.order
    orders.set(key, typeof old === 'number' ? old : ++order)
  })
  for (const e of batch.outbox) outbox.put({ ...e, order: orders.get(e.key)! })
  for (const key of batch.acked) outbox.delete(key)
}
