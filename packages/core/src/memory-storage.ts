import { TidingsError } from './errors.js'
import type { DocInfo, OutboxEntry, StorageAdapter, StoredUpdate, WriteBatch } from './storage.js'
import { mergeUpdatesTree } from './updates.js'

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
  return handle({ docs, meta, outbox })
}

interface Contents {
  readonly docs: Map<string, DocRows>
  readonly meta: Map<string, string>
  readonly outbox: Map<string, OutboxEntry>
}

const handle = (contents: Contents): MemoryStorage => {
  const { docs, meta, outbox } = contents
  let closed = false

  const open = () => {
    if (closed) throw new TidingsError('storage/closed', 'This memory storage was closed.')
  }
  const rowsOf = (doc: string): DocRows => {
    let entry = docs.get(doc)
    if (!entry) {
      entry = { rows: [], next: 1, messages: 0, newest: 0 }
      docs.set(doc, entry)
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
    async write(batch: WriteBatch) {
      open()
      // Validate before touching anything, so a refused batch changes nothing.
      for (const u of [...(batch.updates ?? []), ...(batch.outbox ?? [])]) {
        if (!(u.update instanceof Uint8Array))
          throw new TidingsError('input/invalid', `Update for ${u.doc} is not bytes.`)
      }
      for (const u of batch.updates ?? []) {
        const entry = rowsOf(u.doc)
        entry.rows.push({ n: entry.next++, update: u.update.slice() })
        entry.messages += u.messages ?? 0
        entry.newest = Math.max(entry.newest, u.newest ?? 0)
      }
      for (const [key, value] of Object.entries(batch.meta ?? {})) {
        if (value === null) meta.delete(key)
        else meta.set(key, value)
      }
      for (const entry of batch.outbox ?? [])
        outbox.set(entry.key, { ...entry, update: entry.update.slice() })
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
      if (!entry || entry.rows.length < 2) return
      let merged: Uint8Array
      try {
        merged = mergeUpdatesTree(entry.rows.map((r) => r.update))
      } catch (cause) {
        throw new TidingsError('storage/corrupt', `Stored updates of ${doc} could not be merged.`, {
          subject: doc,
          cause,
        })
      }
      entry.rows = [{ n: entry.next++, update: merged }]
    },
    async drop(doc) {
      open()
      docs.delete(doc)
      for (const [key, entry] of outbox) if (entry.doc === doc) outbox.delete(key)
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
