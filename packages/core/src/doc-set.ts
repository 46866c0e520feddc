import * as Y from 'yjs'
import { TidingsError } from './errors.js'
import type { StorageAdapter, StoredUpdate } from './storage.js'

/** Transaction origins, so observers can tell local writes from remote and stored ones. */
export const LOCAL = Symbol('tidings/local')
export const REMOTE = Symbol('tidings/remote')
export const STORED = Symbol('tidings/stored')

/**
 * The loaded Y.Docs of one conversation. Each load makes a fresh Y.Doc with a fresh clientID, so
 * a clientID is never reused across sessions; docs not loaded stay as bytes in storage.
 */
export class DocSet {
  readonly #docs = new Map<string, Y.Doc>()
  readonly #loading = new Map<string, Promise<Y.Doc>>()

  constructor(
    private readonly storage: StorageAdapter,
    private readonly clientId: () => number,
    private readonly onLoaded: (name: string, doc: Y.Doc) => void,
  ) {}

  get(name: string): Y.Doc | undefined {
    return this.#docs.get(name)
  }

  names(): IterableIterator<string> {
    return this.#docs.keys()
  }

  /**
   * Loads a doc from storage (or creates it empty) and hands it to `onLoaded` once.
   * @remarks A row that Yjs cannot read fails the load with `storage/corrupt`, naming the doc.
   */
  load(name: string): Promise<Y.Doc> {
    const loaded = this.#docs.get(name)
    if (loaded) return Promise.resolve(loaded)
    let pending = this.#loading.get(name)
    if (!pending) {
      pending = this.#read(name).finally(() => this.#loading.delete(name))
      this.#loading.set(name, pending)
    }
    return pending
  }

  /** Applies a local change and returns the update it produced (undefined when nothing changed). */
  change(name: string, fn: (doc: Y.Doc) => void): Uint8Array | undefined {
    const doc = this.#docs.get(name)
    if (!doc) throw new Error(`doc ${name} is not loaded`)
    let update: Uint8Array | undefined
    const capture = (u: Uint8Array, origin: unknown) => {
      if (origin === LOCAL) update = update ? Y.mergeUpdates([update, u]) : u
    }
    doc.on('update', capture)
    try {
      doc.transact(() => fn(doc), LOCAL)
    } finally {
      doc.off('update', capture)
    }
    return update
  }

  /** Applies a remote update to a loaded doc. */
  apply(name: string, update: Uint8Array): void {
    const doc = this.#docs.get(name)
    if (!doc) throw new Error(`doc ${name} is not loaded`)
    try {
      Y.applyUpdate(doc, update, REMOTE)
    } catch (cause) {
      throw new TidingsError('protocol/malformed', `An update for ${name} could not be read.`, {
        subject: name,
        cause,
      })
    }
  }

  /** Forgets a loaded doc (after a drop or to reload it from storage). */
  unload(name: string): void {
    this.#docs.get(name)?.destroy()
    this.#docs.delete(name)
  }

  destroy(): void {
    for (const doc of this.#docs.values()) doc.destroy()
    this.#docs.clear()
  }

  async #read(name: string): Promise<Y.Doc> {
    const rows = await this.storage.load(name)
    const existing = this.#docs.get(name)
    if (existing) return existing
    const doc = new Y.Doc({ gc: true })
    doc.clientID = this.clientId()
    try {
      doc.transact(() => {
        for (const row of rows) Y.applyUpdate(doc, row.update, STORED)
      }, STORED)
    } catch (cause) {
      doc.destroy()
      throw await this.#setAside(name, rows, cause)
    }
    this.#docs.set(name, doc)
    this.onLoaded(name, doc)
    return doc
  }

  /**
   * After a load failed: finds the rows Yjs cannot read one by one and has storage set them aside
   * where it can, so the next load gets the rest. Returns the `storage/corrupt` error to throw.
   */
  async #setAside(name: string, rows: readonly StoredUpdate[], cause: unknown): Promise<TidingsError> {
    const scratch = new Y.Doc({ gc: false })
    const bad: number[] = []
    for (const row of rows) {
      try {
        Y.applyUpdate(scratch, row.update)
      } catch {
        bad.push(row.n)
      }
    }
    scratch.destroy()
    const { setAside } = this.storage
    let then = 'the doc stays unreadable'
    if (bad.length > 0 && setAside) {
      try {
        await setAside.call(this.storage, name, bad, `Yjs cannot read it: ${String(cause)}`)
        then = 'they were set aside; the rest of the doc loads'
      } catch (error) {
        then = `setting them aside failed too (${String(error)})`
      }
    }
    const what = bad.length > 0 ? `rows ${bad.join(', ')}` : 'its rows'
    return new TidingsError(
      'storage/corrupt',
      `Stored updates of ${name} could not be read (${what}): ${then}.`,
      {
        subject: name,
        cause,
      },
    )
  }
}
