import type { StoredUpdate } from '@tidings/core'
import * as idb from 'lib0/indexeddb'
import { asBytes, type DocRecord, isDocRecord, type QuarantineRecord } from './records.js'
import { request } from './transaction.js'

/** What a doc's record says, rebuilt from its rows when it is missing or malformed. */
export interface DocState {
  record: DocRecord
  /** A malformed record that was found, to move aside. */
  readonly bad?: unknown
}

/** The key range of a doc's rows: keys are `[doc, n]`. */
export const rowRange = (KeyRange: typeof IDBKeyRange, doc: string): IDBKeyRange =>
  KeyRange.bound([doc, -Infinity], [doc, Infinity])

export const EMPTY: DocRecord = { updates: 0, messages: 0, newest: 0, next: 1 }

/** Reads a doc's record in `tx`; without a sound one, counts its rows so new rows never reuse an n. */
export const readDoc = async (tx: IDBTransaction, range: IDBKeyRange, doc: string): Promise<DocState> => {
  const value = await request(tx.objectStore('docs').get(doc))
  if (isDocRecord(value)) return { record: value }
  const updates = tx.objectStore('updates')
  const [count, cursor] = await Promise.all([
    request(updates.count(range)),
    request(updates.openKeyCursor(range, 'prev')),
  ])
  const last = (cursor?.key as [string, unknown] | undefined)?.[1]
  const record = {
    ...EMPTY,
    updates: count,
    next: typeof last === 'number' ? last + 1 : 1,
  }
  return value === undefined ? { record } : { record, bad: value }
}

/** Sets a malformed value aside in the quarantine store (for inspection), in `tx`. */
export const quarantine = (tx: IDBTransaction, entry: Omit<QuarantineRecord, 'at'>): void => {
  tx.objectStore('quarantine').add({ ...entry, at: Date.now() })
}

/** Writes the doc's record, moving a malformed one it replaces aside first. */
export const putDoc = (tx: IDBTransaction, doc: string, state: DocState): void => {
  if (state.bad !== undefined)
    quarantine(tx, { store: 'docs', doc, key: doc, value: state.bad, reason: 'malformed doc record' })
  tx.objectStore('docs').put(state.record, doc)
}

/** A doc's rows split into sound updates and malformed values. */
export interface Rows {
  readonly good: StoredUpdate[]
  readonly bad: { key: IDBValidKey; value: unknown }[]
}

/** Reads a doc's rows in `tx` in row order. */
export const readRows = async (tx: IDBTransaction, range: IDBKeyRange): Promise<Rows> => {
  const pairs = await idb.getAllKeysValues(tx.objectStore('updates'), range)
  const good: StoredUpdate[] = []
  const bad: Rows['bad'] = []
  for (const { k, v } of pairs) {
    const update = asBytes(v)
    const n = (k as [string, unknown])[1]
    if (update && typeof n === 'number') good.push({ n, update })
    else bad.push({ key: k as IDBValidKey, value: v })
  }
  return { good, bad }
}

/** Moves a doc's malformed rows to quarantine in `tx` and lowers its row count. */
export const quarantineRows = (tx: IDBTransaction, doc: string, state: DocState, bad: Rows['bad']) => {
  for (const { key, value } of bad) {
    quarantine(tx, { store: 'updates', doc, key, value, reason: 'the update is not a Uint8Array' })
    tx.objectStore('updates').delete(key)
  }
  state.record = { ...state.record, updates: Math.max(0, state.record.updates - bad.length) }
  putDoc(tx, doc, state)
}
