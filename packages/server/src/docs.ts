import type { StorageAdapter } from '@tidings/core'
import * as Y from 'yjs'

interface Entry {
  readonly doc: Y.Doc
  lastUsed: number
  /** Rooms and commit rounds using the doc: it stays loaded while any holds it. */
  holds: number
  /** Stored rows: loaded plus written since, to decide on compaction at unload. */
  rows: number
  /** The highest stored row number applied: catching up loads the rows after it. */
  head: number
  /** The catch-up in flight, so two never read the same rows at once. */
  catching: Promise<void> | undefined
}

/** Marks updates other processes committed, applied from the fan-out or from storage. */
export const REMOTE_ORIGIN = Symbol('tidings-remote')

export interface DocStoreOptions {
  readonly storage: StorageAdapter
  /** A doc nobody held or touched for this long is unloaded. */
  readonly idleMs: number
  /** Compact a doc at unload when it has at least this many stored rows. */
  readonly compactAfter: number
  readonly now: () => number
  readonly report: (error: unknown) => void
  /** Told of each doc unloaded for idleness, with its stored rows and whether it is compacted. */
  readonly unloaded?: (name: string, rows: number, compacted: boolean) => void
  /**
   * Told of what a remote update or a catch-up changed in a loaded doc (exactly the new part, in
   * the order Yjs integrated it), to relay it to this process's clients.
   */
  readonly remoteChange?: (name: string, update: Uint8Array) => void
}

/**
 * The server's Y.Docs, loaded lazily from storage and unloaded when idle. A loaded doc is the
 * reference every incoming update is checked against; it only ever holds committed or
 * being-committed state.
 */
export class DocStore {
  readonly #docs = new Map<string, Entry>()
  readonly #loading = new Map<string, Promise<Entry>>()
  #closed = false

  constructor(private readonly options: DocStoreOptions) {}

  /** The doc, loaded from storage on first use. */
  async get(name: string): Promise<Y.Doc> {
    return (await this.#entry(name)).doc
  }

  /** The doc if it is loaded. */
  peek(name: string): Y.Doc | undefined {
    const entry = this.#docs.get(name)
    if (entry) entry.lastUsed = this.options.now()
    return entry?.doc
  }

  /** Loads the doc and keeps it loaded until `release`. */
  async hold(name: string): Promise<Y.Doc> {
    const entry = await this.#entry(name)
    entry.holds++
    return entry.doc
  }

  release(name: string): void {
    const entry = this.#docs.get(name)
    if (!entry) return
    entry.holds = Math.max(0, entry.holds - 1)
    entry.lastUsed = this.options.now()
  }

  /** Counts rows written to a loaded doc, for compaction. */
  wrote(name: string, rows: number): void {
    const entry = this.#docs.get(name)
    if (entry) entry.rows += rows
  }

  /** Forgets a doc without compacting: after a failed write or a drop, storage is the truth. */
  discard(name: string): void {
    const entry = this.#docs.get(name)
    this.#docs.delete(name)
    entry?.doc.destroy()
  }

  /**
   * Applies an update another process committed to the doc, if it is loaded (else storage has it
   * for the next load, and this returns false). What it changes goes to `remoteChange`. An update whose dependencies are
   * missing (the fan-out delivered it before an earlier one) makes the doc catch up from storage.
   */
  applyRemote(name: string, update: Uint8Array): boolean {
    const entry = this.#docs.get(name)
    if (!entry) return false
    // In use: unloaded, its next payload would load it again and send it whole to subscribers.
    entry.lastUsed = this.options.now()
    try {
      Y.applyUpdate(entry.doc, update, REMOTE_ORIGIN)
    } catch (error) {
      this.options.report(error)
    }
    if (entry.doc.store.pendingStructs || entry.doc.store.pendingDs)
      this.catchUp(name).catch(this.options.report)
    return true
  }

  /**
   * Applies the rows other processes committed since this process last read the doc (a no-op for
   * a doc that is not loaded: it loads whole). Serialized per doc.
   */
  async catchUp(name: string): Promise<void> {
    const entry = this.#docs.get(name)
    if (!entry) return
    while (entry.catching) await entry.catching
    entry.catching = this.#catchUp(name, entry).finally(() => {
      entry.catching = undefined
    })
    return entry.catching
  }

  async #catchUp(name: string, entry: Entry): Promise<void> {
    const { storage } = this.options
    const rows = storage.loadAfter
      ? await storage.loadAfter(name, entry.head)
      : (await storage.load(name)).filter((row) => row.n > entry.head)
    if (this.#docs.get(name) !== entry) return
    this.#apply(entry, rows, REMOTE_ORIGIN)
    if (entry.doc.store.pendingStructs || entry.doc.store.pendingDs) {
      // Storage holds every committed row, so this is a doc we cannot trust: reload it.
      this.options.report(new Error(`${name} kept pending structs after catching up: reloaded`))
      this.discard(name)
    }
  }

  #apply(entry: Entry, rows: readonly { n: number; update: Uint8Array }[], origin: unknown): void {
    if (rows.length === 0) return
    entry.doc.transact(() => {
      for (const row of rows) {
        if (row.n > entry.head) entry.head = row.n
        try {
          Y.applyUpdate(entry.doc, row.update, origin)
        } catch (error) {
          // A corrupt row is reported and skipped: the rest of the doc still serves.
          this.options.report(error)
        }
      }
    }, origin)
  }

  /** Unloads docs idle for longer than `idleMs`, compacting the ones with many rows. */
  sweep(): void {
    const cutoff = this.options.now() - this.options.idleMs
    for (const [name, entry] of this.#docs) {
      if (entry.holds > 0 || entry.lastUsed > cutoff) continue
      this.#docs.delete(name)
      entry.doc.destroy()
      const compact = entry.rows >= this.options.compactAfter && !this.#closed
      if (compact) this.options.storage.compact(name).catch(this.options.report)
      this.options.unloaded?.(name, entry.rows, compact)
    }
  }

  /** Loaded doc names, for diagnostics and tests. */
  loaded(): string[] {
    return [...this.#docs.keys()]
  }

  close(): void {
    this.#closed = true
    for (const entry of this.#docs.values()) entry.doc.destroy()
    this.#docs.clear()
  }

  async #entry(name: string): Promise<Entry> {
    const loaded = this.#docs.get(name)
    if (loaded) {
      loaded.lastUsed = this.options.now()
      return loaded
    }
    let pending = this.#loading.get(name)
    if (!pending) {
      pending = this.#load(name).finally(() => this.#loading.delete(name))
      this.#loading.set(name, pending)
    }
    return pending
  }

  async #load(name: string): Promise<Entry> {
    const rows = await this.options.storage.load(name)
    // A guid of our own: Yjs would draw a uuid, 31 calls to crypto each, for every doc loaded.
    const doc = new Y.Doc({ guid: name })
    const entry: Entry = {
      doc,
      lastUsed: this.options.now(),
      holds: 0,
      rows: rows.length,
      head: 0,
      catching: undefined,
    }
    this.#apply(entry, rows, null)
    const { remoteChange } = this.options
    if (remoteChange) {
      // Yjs emits only what an update changed: a repeat of what the doc holds relays nothing.
      doc.on('update', (update: Uint8Array, origin: unknown) => {
        if (origin === REMOTE_ORIGIN) remoteChange(name, update)
      })
    }
    this.#docs.set(name, entry)
    return entry
  }
}
