import { TidingsError } from './errors.js'
import { NameLocks } from './name-locks.js'
import type { DocInfo, OutboxEntry, StorageAdapter, StoredUpdate, WriteBatch } from './storage.js'
import { checkClaims, mergeStoredRows } from './storage-batch.js'

interface DocRows {
  rows: StoredUpdate[]
  next: number
  messages: number
  newest: number
}

const copyEntry = (entry: OutboxEntry): OutboxEntry => ({
  ...entry,
  update: entry.update.slice(),
  messages: [...entry.messages],
})

/**
 * Copies small byte arrays into shared 64 KiB blocks: one ArrayBuffer per block rather than per
 * update keeps a store of a million rows cheap for the garbage collector. Stored bytes are never
 * written again, so sharing a block is safe; a block lives while any row in it does.
 */
class Slab {
  #block = new Uint8Array(0)
  #used = 0

  copy(bytes: Uint8Array): Uint8Array {
    if (bytes.length > 4096) return bytes.slice()
    if (this.#used + bytes.length > this.#block.length) {
      this.#block = new Uint8Array(64 * 1024)
      this.#used = 0
    }
    const start = this.#used
    this.#block.set(bytes, start)
    this.#used += bytes.length
    return this.#block.subarray(start, this.#used)
  }
}

/** Replaces the rows from index `from` on with one merged row; nothing when fewer than two. */
const mergeRows = (doc: string, entry: DocRows, from: number): void => {
  if (entry.rows.length - from < 2) return
  const merged = mergeStoredRows(
    doc,
    entry.rows.slice(from).map((r) => r.update),
  )
  entry.rows.length = from
  entry.rows.push({ n: entry.next++, update: merged })
}

/** A `StorageAdapter` in memory that can be opened again on the same contents. */
export interface MemoryStorage extends StorageAdapter {
  /**
   * A new handle on the same contents, as a process restarting on the same durable store gets:
   * pass it to a new client to simulate a restart after `client.close()`.
   * @remarks Closes this handle if it is still open, so calling it while a client still runs
   * simulates a crash: that client's later calls fail with `storage/closed`, and the new handle
   * holds every batch committed before.
   */
  reopen(): MemoryStorage
}

/**
 * Storage in memory: for tests, demos and throwaway sessions. Nothing survives the process, but
 * the semantics (atomic batches, copies of every byte array) match the durable adapters, and
 * `reopen()` gives a restarted client the same contents.
 */
export const memoryStorage = (): MemoryStorage => {
  const docs = new Map<string, DocRows>()
  const meta = new Map<string, string>()
  const outbox = new Map<string, OutboxEntry>()
  return handle({ docs, meta, outbox, locks: new NameLocks(), nextOfDropped: new Map(), slab: new Slab() })
}

interface Contents {
  readonly docs: Map<string, DocRows>
  readonly meta: Map<string, string>
  readonly outbox: Map<string, OutboxEntry>
  /** Shared by every handle on the contents, as a database's locks are by its connections. */
  readonly locks: NameLocks
  /** The next row number of each dropped doc: a doc written again never repeats a number. */
  readonly nextOfDropped: Map<string, number>
  readonly slab: Slab
}

const handle = (contents: Contents): MemoryStorage => {
  const { docs, meta, outbox, locks, nextOfDropped, slab } = contents
  let closed = false

  const open = () => {
    if (closed) throw new TidingsError('storage/closed', 'This memory storage was closed.')
  }
  const rowsOf = (doc: string): DocRows => {
    let entry = docs.get(doc)
    if (!entry) {
      entry = { rows: [], next: nextOfDropped.get(doc) ?? 1, messages: 0, newest: 0 }
      docs.set(doc, entry)
      nextOfDropped.delete(doc)
    }
    return entry
  }

  return {
    async listDocs(conversation) {
      open()
      const prefix = `${conversation}/`
      const list: DocInfo[] = []
      for (const [doc, { rows, messages, newest }] of docs) {
        if (doc.startsWith(prefix)) list.push({ doc, updates: rows.length, messages, newest })
      }
      return list.sort((a, b) => (a.doc < b.doc ? -1 : 1))
    },
    async load(doc) {
      open()
      return (docs.get(doc)?.rows ?? []).map(({ n, update }) => ({ n, update: update.slice() }))
    },
    async loadAfter(doc, after) {
      open()
      return (docs.get(doc)?.rows ?? [])
        .filter((row) => row.n > after)
        .map(({ n, update }) => ({ n, update: update.slice() }))
    },
    async claimMeta(claims) {
      open()
      checkClaims(claims)
      const held = new Map<string, string>()
      for (const [key, value] of Object.entries(claims)) {
        if (!meta.has(key)) meta.set(key, value)
        held.set(key, meta.get(key)!)
      }
      return held
    },
    async withLock(names, fn) {
      open()
      return locks.run(names, fn)
    },
    async write(batch: WriteBatch) {
      open()
      // Validate before touching anything, so a refused batch changes nothing.
      for (const u of [...(batch.updates ?? []), ...(batch.outbox ?? [])]) {
        if (!(u.update instanceof Uint8Array))
          throw new TidingsError('input/invalid', `Update for ${u.doc} is not bytes.`)
      }
      // One copy of each distinct byte array: an update and its outbox entry share it.
      const copies = new Map<Uint8Array, Uint8Array>()
      const copy = (bytes: Uint8Array) => {
        let kept = copies.get(bytes)
        if (!kept) {
          kept = slab.copy(bytes)
          copies.set(bytes, kept)
        }
        return kept
      }
      for (const u of batch.updates ?? []) {
        const entry = rowsOf(u.doc)
        entry.rows.push({ n: entry.next++, update: copy(u.update) })
        entry.messages += u.messages ?? 0
        entry.newest = Math.max(entry.newest, u.newest ?? 0)
      }
      for (const [key, value] of Object.entries(batch.meta ?? {})) {
        if (value === null) meta.delete(key)
        else meta.set(key, value)
      }
      for (const entry of batch.outbox ?? []) outbox.set(entry.key, { ...entry, update: copy(entry.update) })
      for (const key of batch.acked ?? []) outbox.delete(key)
    },
    async getMeta(key) {
      open()
      return meta.get(key)
    },
    async outbox() {
      open()
      return [...outbox.values()].map(copyEntry)
    },
    // Scans rather than indexes by doc: no bytes are copied, and writes stay as they were.
    async outboxDocs() {
      open()
      return [...new Set([...outbox.values()].map((entry) => entry.doc))]
    },
    async outboxOf(doc) {
      open()
      return [...outbox.values()].filter((entry) => entry.doc === doc).map(copyEntry)
    },
    async compact(doc) {
      open()
      const entry = docs.get(doc)
      if (entry) mergeRows(doc, entry, 0)
    },
    async compactTail(doc, maxBytes) {
      open()
      const entry = docs.get(doc)
      if (!entry) return
      let from = entry.rows.length
      for (let bytes = 0; from > 0 && bytes + entry.rows[from - 1]!.update.length <= maxBytes; from--)
        bytes += entry.rows[from - 1]!.update.length
      mergeRows(doc, entry, from)
    },
    async drop(doc) {
      open()
      const entry = docs.get(doc)
      if (entry) nextOfDropped.set(doc, entry.next)
      docs.delete(doc)
      for (const [key, entry] of outbox) if (entry.doc === doc) outbox.delete(key)
    },
    async setAside(doc, rows) {
      open()
      const entry = docs.get(doc)
      if (!entry) return
      const aside = new Set(rows)
      entry.rows = entry.rows.filter((row) => !aside.has(row.n))
    },
    async close() {
      closed = true
    },
    reopen() {
      closed = true
      return handle(contents)
    },
  }
}
