import { type IndexeddbStorageOptions, indexeddbStorage } from '@tidings/storage-indexeddb'
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb'

/** What a hook sees of each transaction the adapter starts; it may patch `tx` before it is used. */
export interface TransactionSeen {
  readonly tx: IDBTransaction
  readonly db: IDBDatabase
  readonly stores: string[]
  readonly mode: IDBTransactionMode | undefined
  readonly options: IDBTransactionOptions | undefined
}

export interface Hooks {
  connection?: (db: IDBDatabase) => void
  transaction?: (seen: TransactionSeen) => void
}

/** Wraps a factory so tests can watch and break the connections and transactions it hands out. */
export const spyFactory = (inner: IDBFactory, hooks: Hooks): IDBFactory => ({
  open(name, version) {
    const request = inner.open(name, version)
    // Added before the adapter sets onsuccess, so it runs first.
    request.addEventListener('success', () => {
      const db = request.result
      const transaction = db.transaction.bind(db)
      db.transaction = ((
        stores: string | string[],
        mode?: IDBTransactionMode,
        options?: IDBTransactionOptions,
      ) => {
        const tx = transaction(stores, mode, options)
        hooks.transaction?.({ tx, db, stores: [stores].flat(), mode, options })
        return tx
      }) as IDBDatabase['transaction']
      hooks.connection?.(db)
    })
    return request
  },
  deleteDatabase: (name) => inner.deleteDatabase(name),
  cmp: (a, b) => inner.cmp(a, b),
  databases: () => inner.databases(),
})

type Options = Omit<IndexeddbStorageOptions, 'indexedDB' | 'IDBKeyRange'>

/** A fresh fake-indexeddb factory for one test, and adapters on it. */
export const fakeBrowser = (hooks: Hooks = {}) => {
  const raw = new IDBFactory()
  const indexedDB = spyFactory(raw, hooks)
  return {
    indexedDB,
    raw,
    open: (options: Options = {}) => indexeddbStorage({ indexedDB, IDBKeyRange, ...options }),
  }
}

/** Opens the database beside the adapter, as another tab or DevTools would. */
export const rawOpen = (factory: IDBFactory, name: string, version?: number): Promise<IDBDatabase> =>
  new Promise((resolve, reject) => {
    const request = factory.open(name, version)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })

/** Runs one request in its own transaction on a side connection. */
export const rawRequest = <T>(
  db: IDBDatabase,
  store: string,
  mode: IDBTransactionMode,
  make: (store: IDBObjectStore) => IDBRequest<T>,
): Promise<T> =>
  new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode)
    const request = make(tx.objectStore(store))
    tx.oncomplete = () => resolve(request.result)
    tx.onabort = () => reject(tx.error)
  })

/** Rows in each store of a database, counted on a side connection. */
export const countRows = async (factory: IDBFactory, name: string) => {
  const db = await rawOpen(factory, name)
  const counts: Record<string, number> = {}
  for (const store of Array.from(db.objectStoreNames))
    counts[store] = await rawRequest(db, store, 'readonly', (s) => s.count())
  db.close()
  return counts
}

/** A Web Locks manager in memory, as browsers give per origin (Node 20 has none). */
export const memoryLocks = () => {
  const held = new Set<string>()
  return {
    held,
    request(name: string, options: { ifAvailable: boolean }, callback: (lock: Lock | null) => unknown) {
      if (held.has(name)) {
        if (!options.ifAvailable) throw new Error('memoryLocks only implements ifAvailable')
        return Promise.resolve(callback(null))
      }
      held.add(name)
      const lock = { name, mode: 'exclusive' } as Lock
      return Promise.resolve(callback(lock)).finally(() => held.delete(name))
    },
  }
}

export const bytes = (...values: number[]) => new Uint8Array(values)
