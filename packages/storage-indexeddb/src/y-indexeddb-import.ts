import { type StorageAdapter, TidingsError } from '@tidings/core'
import { IndexeddbPersistence } from 'y-indexeddb'
import { Doc, encodeStateAsUpdate } from 'yjs'

/** Options of `importYIndexeddb`: where the doc goes. */
export interface ImportYIndexeddbOptions {
  /** Where to write the doc: any Tidings `StorageAdapter`, usually an `indexeddbStorage`. */
  readonly storage: StorageAdapter
  /** The Tidings doc name to store it under, e.g. `laneDocName(...)` or `metaDocName(id)`. */
  readonly doc: string
  /** Messages the doc holds, for `listDocs` (default 0). */
  readonly messages?: number
  /** Newest stamp wall time (ms) in the doc, for `listDocs` (default 0). */
  readonly newest?: number
}

/** What `importYIndexeddb` wrote. */
export interface ImportYIndexeddbResult {
  readonly doc: string
  /** Size of the update written; 0 when the y-indexeddb database held nothing and nothing was written. */
  readonly bytes: number
}

// encodeStateAsUpdate of an empty doc: no structs, no deletes.
const isEmpty = (update: Uint8Array) => update.length === 2 && update[0] === 0 && update[1] === 0

/**
 * Imports a doc an app stored with y-indexeddb (database `dbName`) into Tidings storage as one
 * update, reading it with y-indexeddb itself. Importing twice is harmless: Yjs ignores what it has.
 * @remarks y-indexeddb opens the global `indexedDB` (in Node: `import 'fake-indexeddb/auto'`), creates
 * the database when it does not exist, and adds one empty row while it reads. The y-indexeddb
 * database is left in place; delete it with `clearDocument(dbName)` from y-indexeddb once imported.
 */
export const importYIndexeddb = async (
  dbName: string,
  options: ImportYIndexeddbOptions,
): Promise<ImportYIndexeddbResult> => {
  if (typeof dbName !== 'string' || typeof options?.doc !== 'string' || options.doc.length === 0)
    throw new TidingsError('input/invalid', 'importYIndexeddb needs a database name and a doc name.')
  const ydoc = new Doc()
  const persistence = new IndexeddbPersistence(dbName, ydoc)
  let update: Uint8Array
  try {
    await persistence.whenSynced
    update = encodeStateAsUpdate(ydoc)
  } finally {
    await persistence.destroy()
    ydoc.destroy()
  }
  if (isEmpty(update)) return { doc: options.doc, bytes: 0 }
  await options.storage.write({
    updates: [
      {
        doc: options.doc,
        update,
        ...(options.messages === undefined ? {} : { messages: options.messages }),
        ...(options.newest === undefined ? {} : { newest: options.newest }),
      },
    ],
  })
  return { doc: options.doc, bytes: update.length }
}
