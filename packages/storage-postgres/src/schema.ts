import { TidingsError } from '@tidings/core'
import type { PoolClient } from 'pg'
import { lockKey } from './locks.js'

/** A quoted identifier; `schema` was checked against SCHEMA_NAME before. */
export const quote = (name: string): string => `"${name}"`

/** Schema names the adapter accepts: plain identifiers, so they never need escaping. */
export const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/** One step of the schema, from version `index` to `index + 1`; `s` is the quoted schema name. */
export type Migration = (s: string) => string

/**
 * Every schema step since the first, in order; `<schema>.tidings_schema` holds how many ran.
 * @remarks A shipped step is never edited: databases in the field were made by it. A change of
 * schema is a new step appended here.
 */
export const MIGRATIONS: readonly Migration[] = [
  // Version 1. Names collate as bytes ("C"), so a prefix range lists exactly one conversation's
  // docs. `docs.next_n` gives row numbers that only rise, per doc, even across compaction and
  // drop (a dropped doc keeps its row with no updates), so `loadAfter` never misses a row. Meta
  // values are bytes: they may hold any character, NUL included (the server's own user id).
  (s) => `
    CREATE TABLE ${s}.docs (
      doc text COLLATE "C" PRIMARY KEY,
      updates bigint NOT NULL,
      messages double precision NOT NULL,
      newest double precision NOT NULL,
      next_n bigint NOT NULL
    );
    CREATE TABLE ${s}.updates (
      doc text COLLATE "C" NOT NULL,
      n bigint NOT NULL,
      "update" bytea NOT NULL,
      PRIMARY KEY (doc, n)
    );
    CREATE TABLE ${s}.meta (key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL);
    CREATE TABLE ${s}.outbox (
      seq bigint GENERATED ALWAYS AS IDENTITY,
      key text COLLATE "C" PRIMARY KEY,
      doc text COLLATE "C" NOT NULL,
      lane text NOT NULL,
      "update" bytea NOT NULL,
      messages text NOT NULL
    );
    CREATE INDEX outbox_doc ON ${s}.outbox (doc);
  `,
]

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

/**
 * Creates or upgrades the schema, one transaction per step, under an advisory lock on the
 * schema's name: two processes starting at once run each step once, and the second finds it done.
 * @remarks A schema from a newer version is refused rather than guessed at.
 */
export const migrate = async (
  client: PoolClient,
  schema: string,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<void> => {
  const s = quote(schema)
  const target = migrations.length
  for (;;) {
    await client.query('BEGIN')
    try {
      await client.query('SELECT pg_advisory_xact_lock($1::int8)', [lockKey(schema, 'schema', '')])
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`)
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.tidings_schema (version integer NOT NULL)`)
      const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${s}.tidings_schema`)
      const version = rows[0]?.version ?? 0
      if (version > target)
        throw new TidingsError(
          'storage/corrupt',
          `Schema ${schema} has version ${version}, newer than ${target}, the newest this @tidings/storage-postgres knows. Upgrade the package to use it.`,
          { subject: schema },
        )
      if (version === target) {
        await client.query('COMMIT')
        return
      }
      await client.query(migrations[version]!(s))
      if (rows.length === 0) await client.query(`INSERT INTO ${s}.tidings_schema (version) VALUES (1)`)
      else await client.query(`UPDATE ${s}.tidings_schema SET version = $1`, [version + 1])
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      throw error
    }
  }
}
