import type { StoredUpdate } from '@tidings/core'
import { TidingsError } from '@tidings/core'
import * as idb from 'lib0/indexeddb'
import { asStoredValue, canDecompress, type StoredValue, unpack } from './codec.js'
import { type DocRecord, isDocRecord, type QuarantineRecord } from './records.js'
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

/** A row whose value has the right shape; a compressed one is not inflated yet. */
export interface StoredRow {
  readonly n: number
  readonly key: IDBValidKey
  readonly value: StoredValue
}

/** A value to move aside, and why. */
export interface BadRow {
  readonly key: IDBValidKey
  readonly value: unknown
  readonly reason: string
}

/** A doc's rows split into values of the right shape and malformed ones. */
export interface Rows {
  readonly good: StoredRow[]
  readonly bad: BadRow[]
}

/** Reads a doc's rows in `tx` in row order. */
export const readRows = async (tx: IDBTransaction, range: IDBKeyRange): Promise<Rows> => {
  const pairs = await idb.getAllKeysValues(tx.objectStore('updates'), range)
  const good: StoredRow[] = []
  const bad: BadRow[] = []
  for (const { k, v } of pairs) {
    const value = asStoredValue(v)
    const n = (k as [string, unknown])[1]
    const key = k as IDBValidKey
    if (value && typeof n === 'number') good.push({ n, key, value })
    else bad.push({ key, value: v, reason: 'the update is neither bytes nor a compressed row' })
  }
  return { good, bad }
}

/**
 * Inflates the compressed rows read (outside any transaction: IndexedDB commits a transaction that
 * waits on anything else); rows that cannot be inflated come back as bad.
 */
export const inflateRows = async (
  rows: readonly StoredRow[],
): Promise<{ good: StoredUpdate[]; bad: BadRow[] }> => {
  // Sound rows of a runtime that cannot read them are not damaged: refuse, move nothing aside.
  if (!canDecompress() && rows.some((r) => !(r.value instanceof Uint8Array)))
    throw new TidingsError(
      'storage/corrupt',
      'Compressed rows need DecompressionStream, which this runtime lacks; nothing was changed.',
    )
  const results = await Promise.allSettled(rows.map((r) => unpack(r.value)))
  const good: StoredUpdate[] = []
  const bad: BadRow[] = []
  for (const [i, result] of results.entries()) {
    const { n, key, value } = rows[i]!
    if (result.status === 'fulfilled') good.push({ n, update: result.value })
    else bad.push({ key, value, reason: 'the compressed update cannot be inflated or decoded' })
  }
  return { good, bad }
}

/** Moves a doc's malformed rows to quarantine in `tx` and lowers its row count. */
export const quarantineRows = (tx: IDBTransaction, doc: string, state: DocState, bad: readonly BadRow[]) => {
  for (const { key, value, reason } of bad) {
    quarantine(tx, { store: 'updates', doc, key, value, reason })
    tx.objectStore('updates').delete(key)
  }
  state.record = { ...state.record, updates: Math.max(0, state.record.updates - bad.length) }
  putDoc(tx, doc, state)
}
