export { type PostgresStorage, type PostgresStorageOptions, postgresStorage } from './postgres-storage.js'
export { SCHEMA_VERSION } from './schema.js'
