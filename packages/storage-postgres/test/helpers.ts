import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** The database the tests use; CI and the dev machines run PostgreSQL there (trust auth). */
export const PG_URL = process.env.TIDINGS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** Errors that mean nothing answers at the URL, as opposed to a server that refuses us. */
const NOWHERE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ETIMEDOUT',
])

/**
 * Whether PostgreSQL answers at PG_URL. Tests skip, saying why, only when nothing answers there; a
 * server that answers but refuses (authentication, a missing database) fails them instead.
 */
export const pgReachable = async (): Promise<boolean> => {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch (error) {
    const code = (error as { code?: string }).code ?? ''
    if (!NOWHERE.has(code) && !/timeout/i.test((error as Error).message)) throw error
    console.warn(
      `Skipping PostgreSQL tests: nothing answers at TIDINGS_PG_URL=${PG_URL} (${(error as Error).message}). Start PostgreSQL or point TIDINGS_PG_URL at one.`,
    )
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** A schema name no other test uses. */
export const freshSchema = (): string => `tidings_test_${randomBytes(6).toString('hex')}`

/** Drops a test schema with everything in it. */
export const dropSchema = async (schema: string): Promise<void> => {
  const client = new pg.Client({ connectionString: PG_URL })
  client.on('error', () => {})
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
  }
}
