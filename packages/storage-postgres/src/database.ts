import type pg from 'pg'
import { lockKey, Slots, sortedKeys } from './locks.js'
import { migrate } from './schema.js'

/** SQLSTATEs after which the same transaction may simply run again (deadlock, serialization). */
const RETRYABLE = new Set(['40P01', '40001'])
const ATTEMPTS = 3

/** How the adapter reaches PostgreSQL: the schema made ready once, transactions, queries, session locks. */
export interface Database {
  /** Creates or upgrades the schema on first call; a failed attempt is retried by the next call. */
  ready(): Promise<void>
  /** Runs `fn` in one transaction on a pooled connection, again when PostgreSQL asks for it. */
  transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>
  query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>>
  /** Holds session advisory locks on `names` on one pooled connection while `fn` runs. */
  holdLocks<T>(names: readonly string[], fn: () => Promise<T>): Promise<T>
}

export interface DatabaseOptions {
  readonly pool: pg.Pool
  readonly schema: string
  /** Connections of the pool: lock sessions take at most all but one. */
  readonly max: number
  /** Turns a failure into what callers get. */
  readonly fail: (error: unknown) => unknown
}

export const openDatabase = ({ pool, schema, max, fail }: DatabaseOptions): Database => {
  const lockSlots = new Slots(max - 1)
  // A checked-out connection that drops emits 'error' on its client; unheard, that would crash
  // the process. The query in flight rejects with it anyway, and release() retires the client.
  const heard = new WeakSet<pg.PoolClient>()
  const connect = async (): Promise<pg.PoolClient> => {
    const client = await pool.connect()
    if (!heard.has(client)) {
      heard.add(client)
      client.on('error', () => {})
    }
    return client
  }

  let schemaReady: Promise<void> | undefined
  const ready = (): Promise<void> => {
    schemaReady ??= (async () => {
      const client = await connect()
      try {
        await migrate(client, schema)
      } finally {
        client.release()
      }
    })().catch((error: unknown) => {
      schemaReady = undefined // the next call tries again: the database may be back
      throw fail(error)
    })
    return schemaReady
  }

  return {
    ready,
    async transaction(fn) {
      await ready()
      for (let attempt = 1; ; attempt++) {
        const client = await connect()
        let broken: Error | undefined
        try {
          await client.query('BEGIN')
          const result = await fn(client)
          await client.query('COMMIT')
          return result
        } catch (error) {
          await client.query('ROLLBACK').catch((rollback: Error) => {
            broken = rollback
          })
          const code = (error as { code?: string }).code ?? ''
          if (!RETRYABLE.has(code) || attempt >= ATTEMPTS) throw error
        } finally {
          // A connection that cannot roll back is destroyed, not reused.
          client.release(broken)
        }
      }
    },
    async query(text, values) {
      await ready()
      return pool.query(text, values)
    },
    holdLocks(names, fn) {
      const keys = sortedKeys(names.map((name) => lockKey(schema, 'lock', name)))
      return lockSlots.run(async () => {
        await ready()
        const client = await connect()
        try {
          // One statement takes every key, in sorted order, so overlapping sets never deadlock.
          await client.query(
            'SELECT count(pg_advisory_lock(k)) FROM unnest($1::int8[]) WITH ORDINALITY AS t(k, i)',
            [keys],
          )
        } catch (error) {
          // Some locks may be held: only dropping the connection releases them for sure.
          client.release(error as Error)
          throw error
        }
        let broken: Error | undefined
        try {
          return await fn()
        } finally {
          await client.query('SELECT pg_advisory_unlock_all()').catch((error: Error) => {
            broken = error
          })
          client.release(broken)
        }
      })
    },
  }
}
