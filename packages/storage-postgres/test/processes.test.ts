import { type PostgresStorage, postgresStorage } from '@tidings/storage-postgres'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { lockKey } from '../src/locks.js'
import { dropSchema, freshSchema, PG_URL, pgReachable } from './helpers.js'

const reachable = await pgReachable()

/** Two storages on one schema, each with its own pool: two server processes as far as PostgreSQL can tell. */
const useProcesses = () => {
  const opened: { storages: PostgresStorage[]; schema: string }[] = []
  afterEach(async () => {
    for (const { storages, schema } of opened.splice(0)) {
      for (const s of storages) await s.close()
      await dropSchema(schema)
    }
  })
  return (count = 2) => {
    const schema = freshSchema()
    const storages = Array.from({ length: count }, () => postgresStorage({ url: PG_URL, schema, max: 4 }))
    opened.push({ storages, schema })
    return storages
  }
}

/** Yjs updates of one writer, each setting one key of map `m`. */
const updatesOf = (clientID: number, count: number): Uint8Array[] => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  for (let i = 0; i < count; i++) doc.getMap('m').set(`${clientID}.${i}`, i)
  return updates
}

const keysOf = (rows: { update: Uint8Array }[]) => {
  const doc = new Y.Doc()
  for (const row of rows) Y.applyUpdate(doc, row.update)
  return [...doc.getMap('m').keys()].sort()
}

describe.skipIf(!reachable)('postgresStorage shared by processes', () => {
  const open = useProcesses()

  it('two processes appending to one doc while both compact it lose nothing, and catch-up by loadAfter misses no row', async () => {
    const [a, b, reader] = open(3)
    const doc = 'race/normal/1'
    const fromA = updatesOf(1, 60)
    const fromB = updatesOf(2, 60)
    // A third process follows the doc as a server would: loadAfter its highest row, again and again.
    const follower = new Y.Doc()
    let known = 0
    const follow = async () => {
      const rows = await reader!.loadAfter(doc, known)
      for (const row of rows) {
        expect(row.n, 'rows come in ascending order').toBeGreaterThan(known)
        Y.applyUpdate(follower, row.update)
        known = row.n
      }
    }
    let writing = true
    const following = (async () => {
      while (writing) await follow()
    })()
    const send = async (storage: PostgresStorage, updates: Uint8Array[]) => {
      const pending: Promise<void>[] = []
      for (const [i, update] of updates.entries()) {
        pending.push(storage.write({ updates: [{ doc, update, messages: 1, newest: i }] }))
        if (i % 5 === 4) await Promise.all(pending.splice(0))
        if (i % 15 === 14) await storage.compact(doc)
      }
      await Promise.all(pending)
    }
    await Promise.all([send(a!, fromA), send(b!, fromB)])
    writing = false
    await following
    await follow()
    const want = [...fromA, ...fromB].map((update) => ({ update }))
    const rows = await reader!.load(doc)
    expect(keysOf(rows)).toEqual(keysOf(want))
    expect([...follower.getMap('m').keys()].sort(), 'the follower caught up').toEqual(keysOf(want))
    const [info] = await reader!.listDocs('race')
    expect(info).toMatchObject({ doc, updates: rows.length, messages: 120, newest: 59 })
    // Grouping: fewer transactions than writes, though each write resolved after its own commit.
    expect(a!.transactions).toBeLessThan(60)
  })

  it('compaction skips a doc another process is compacting (its advisory lock held), and runs once it is free', async () => {
    const [a] = open(1)
    const doc = 'locked/meta'
    for (const update of updatesOf(3, 4)) await a!.write({ updates: [{ doc, update }] })
    const other = new pg.Client({ connectionString: PG_URL })
    await other.connect()
    try {
      await other.query('BEGIN')
      await other.query('SELECT pg_advisory_xact_lock($1::int8)', [lockKey(a!.schema, 'compact', doc)])
      await a!.compact(doc)
      expect(await a!.load(doc), 'left to the process holding the lock').toHaveLength(4)
      await other.query('COMMIT')
    } finally {
      await other.end()
    }
    await a!.compact(doc)
    const rows = await a!.load(doc)
    expect(rows).toHaveLength(1)
    expect(rows[0]!.n).toBe(5)
  })

  it('claims race across processes: each key gets one owner, and every claimant learns it', async () => {
    const [a, b] = open(2)
    const devices = Array.from({ length: 40 }, (_, i) => `device:d${i}`)
    const claim = (storage: PostgresStorage, user: string) =>
      Promise.all(devices.map((key) => storage.claimMeta({ [key]: user })))
    const [byA, byB] = await Promise.all([claim(a!, 'alice'), claim(b!, 'bob')])
    const owners = new Set<string>()
    for (const [i, key] of devices.entries()) {
      const owner = byA[i]!.get(key)!
      owners.add(owner)
      expect(byB[i]!.get(key), key).toBe(owner)
      expect(await b!.getMeta(key)).toBe(owner)
    }
    expect([...owners].every((o) => o === 'alice' || o === 'bob')).toBe(true)
  })

  it('withLock serializes read-check-write across processes: no increment of a shared counter is lost', async () => {
    const [a, b] = open(2)
    const increment = (storage: PostgresStorage) =>
      storage.withLock(['counter'], async () => {
        const value = Number((await storage.getMeta('counter')) ?? 0)
        await new Promise((resolve) => setImmediate(resolve))
        await storage.write({ meta: { counter: String(value + 1) } })
      })
    await Promise.all(Array.from({ length: 30 }, (_, i) => increment(i % 2 ? a! : b!)))
    expect(await a!.getMeta('counter')).toBe('30')
  })

  it('meta values keep any character, NUL included (the server binds its own writes to "\\u0000server")', async () => {
    const [a, b] = open(2)
    const value = '\u0000server é 😀'
    expect((await a!.claimMeta({ 'binding:c:1': value })).get('binding:c:1')).toBe(value)
    await a!.write({ meta: { other: value } })
    expect(await b!.getMeta('binding:c:1')).toBe(value)
    expect(await b!.getMeta('other')).toBe(value)
  })

  it('two processes creating the schema at once both start, and run each step once', async () => {
    const schema = freshSchema()
    const storages = Array.from({ length: 4 }, () => postgresStorage({ url: PG_URL, schema, max: 2 }))
    try {
      await Promise.all(storages.map((s) => s.ready()))
      await Promise.all(storages.map((s, i) => s.write({ meta: { [`k${i}`]: 'v' } })))
      const client = new pg.Client({ connectionString: PG_URL })
      await client.connect()
      const { rows } = await client.query(`SELECT version FROM "${schema}".tidings_schema`)
      await client.end()
      expect(rows).toEqual([{ version: 1 }])
    } finally {
      for (const s of storages) await s.close()
      await dropSchema(schema)
    }
  })
})
