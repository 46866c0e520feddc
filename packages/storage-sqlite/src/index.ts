export { SCHEMA_VERSION } from './schema.js'
export {
  type Durability,
  type SqliteStorage,
  type SqliteStorageOptions,
  sqliteStorage,
} from './sqlite-storage.js'
