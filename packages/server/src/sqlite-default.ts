import { type StorageAdapter, TidingsError } from '@tidings/core'

/**
 * SQLite in `${dataDir}/tidings.db`: the storage of `tidings-server` and of a `createServer`
 * given none. Loaded on demand from the optional peer @tidings/storage-sqlite (with better-sqlite3),
 * so a server on PostgreSQL installs no SQLite driver at all.
 */
export const defaultSqliteStorage = async (dataDir: string): Promise<StorageAdapter> => {
  let module: typeof import('@tidings/storage-sqlite')
  try {
    module = await import('@tidings/storage-sqlite')
  } catch (error) {
    throw new TidingsError(
      'input/invalid',
      'No storage given and @tidings/storage-sqlite is not installed: npm install @tidings/storage-sqlite better-sqlite3, or pass a storage (e.g. postgresStorage({ url }) from @tidings/storage-postgres).',
      { cause: error },
    )
  }
  return module.sqliteStorage({ path: `${dataDir}/tidings.db` })
}
