import { type StorageAdapter, TidingsError } from '@tidings/core'
import type { CliConfig } from './cli-config.js'
import type { Fanout } from './fanout.js'
import { defaultSqliteStorage } from './sqlite-default.js'

/** Imports an optional peer dependency, or says which package to install. */
const optional = async <T>(name: string, load: () => Promise<T>, flag: string): Promise<T> => {
  try {
    return await load()
  } catch (error) {
    throw new TidingsError('input/invalid', `${flag} needs ${name}: npm install ${name}`, { cause: error })
  }
}

/** What the command stores in and fans out over: SQLite alone, or PostgreSQL (and Redis) for a cluster. */
export const cliBackends = async (
  config: CliConfig,
): Promise<{ storage: StorageAdapter; fanout?: Fanout; name: string }> => {
  if (config.postgres === undefined) {
    return {
      storage: await defaultSqliteStorage(config.dataDir),
      name: `sqlite:${config.dataDir}/tidings.db`,
    }
  }
  const { postgresStorage } = await optional(
    '@tidings/storage-postgres',
    () => import('@tidings/storage-postgres'),
    '--postgres',
  )
  const storage = postgresStorage({ url: config.postgres })
  if (config.redis === undefined) return { storage, name: 'postgres' }
  const { redisFanout } = await optional(
    '@tidings/fanout-redis',
    () => import('@tidings/fanout-redis'),
    '--redis',
  )
  return { storage, fanout: redisFanout({ url: config.redis }), name: 'postgres+redis' }
}
