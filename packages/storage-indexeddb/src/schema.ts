import * as idb from 'lib0/indexeddb'

/** Schema version of the database; each later version adds a step to `upgrade`. */
export const VERSION = 1

export type StoreName = 'updates' | 'docs' | 'meta' | 'outbox' | 'quarantine'
export const ALL_STORES: StoreName[] = ['updates', 'docs', 'meta', 'outbox', 'quarantine']

const upgrade = (db: IDBDatabase, from: number) => {
  if (from < 1) {
    // updates: [doc, n] → bytes; docs: doc → DocRecord; meta: key → string (all out-of-line keys).
    idb.createStores(db, [['updates'], ['docs'], ['meta']])
    const outbox = db.createObjectStore('outbox', { keyPath: 'key' })
    outbox.createIndex('order', 'order', { unique: true })
    outbox.createIndex('doc', 'doc')
    const quarantine = db.createObjectStore('quarantine', { autoIncrement: true })
    quarantine.createIndex('doc', 'doc')
  }
}

/**
 * Opens (creating or upgrading) the database. lib0's `openDB` would do, but it reads the global
 * `indexedDB` and loses the error's name, and both matter here (injected factories, VersionError).
 */
export const openDatabase = (factory: IDBFactory, name: string): Promise<IDBDatabase> =>
  new Promise((resolve, reject) => {
    const request = factory.open(name, VERSION)
    request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
    // `blocked`: an older connection elsewhere has not closed yet; the open proceeds once it has.
  })
