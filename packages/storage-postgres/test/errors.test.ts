import { createServer } from 'node:net'
import { isTidingsError } from '@tidings/core'
import { postgresStorage } from '@tidings/storage-postgres'
import { describe, expect, it } from 'vitest'
import { dropSchema, freshSchema, PG_URL, pgReachable } from './helpers.js'

const reachable = await pgReachable()

/** A port nothing listens on: bound, read, released. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

describe('postgresStorage errors', () => {
  it('rejects each call with storage/unavailable while nothing answers, and closes cleanly', async () => {
    const storage = postgresStorage({ url: `postgres://postgres@127.0.0.1:${await freePort()}/test` })
    for (const call of [
      () => storage.write({ meta: { k: 'v' } }),
      () => storage.getMeta('k'),
      () => storage.load('c/meta'),
      () => storage.claimMeta({ k: 'v' }),
      () => storage.withLock(['c/meta'], async () => 1),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isTidingsError(error, 'storage/unavailable'), String(error)).toBe(true)
    }
    await storage.close()
    await expect(storage.getMeta('k')).rejects.toMatchObject({ code: 'storage/closed' })
  })

  it('refuses a schema name that is not a plain identifier', () => {
    for (const schema of ['', 'a b', 'x"; DROP TABLE y; --', '1abc', 'é'])
      expect(() => postgresStorage({ url: PG_URL, schema }), schema).toThrow(
        expect.objectContaining({ code: 'input/invalid' }),
      )
  })

  it('refuses a pool of fewer than 2 connections: a lock holder writes through a second one', () => {
    for (const max of [0, 1, 1.5])
      expect(() => postgresStorage({ url: PG_URL, max }), String(max)).toThrow(
        expect.objectContaining({ code: 'input/invalid' }),
      )
  })

  it.skipIf(!reachable)('refuses a doc name or key with NUL as input/invalid, storing nothing', async () => {
    const schema = freshSchema()
    const storage = postgresStorage({ url: PG_URL, schema, max: 2 })
    try {
      await expect(
        storage.write({ updates: [{ doc: 'c/\u0000', update: new Uint8Array([1]) }], meta: { k: 'v' } }),
      ).rejects.toMatchObject({ code: 'input/invalid' })
      await expect(storage.getMeta('k\u0000')).rejects.toMatchObject({ code: 'input/invalid' })
      expect(await storage.getMeta('k')).toBeUndefined()
    } finally {
      await storage.close()
      await dropSchema(schema)
    }
  })
})
