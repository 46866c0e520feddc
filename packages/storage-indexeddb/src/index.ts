export {
  type IndexeddbStorage,
  type IndexeddbStorageOptions,
  indexeddbStorage,
} from './indexeddb-storage.js'
export { VERSION } from './schema.js'
export type { LockManagerLike } from './web-lock.js'
export {
  type ImportYIndexeddbOptions,
  type ImportYIndexeddbResult,
  importYIndexeddb,
} from './y-indexeddb-import.js'
