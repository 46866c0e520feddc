import { crc32, deflateRawSync } from 'node:zlib'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { bytes, useTempDir } from './helpers.js'

const tempPath = useTempDir()

/** The updates of a doc that receives `count` chat-like messages, one update per message. */
const chatUpdates = (count: number): Uint8Array[] => {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  for (let i = 1; i <= count; i++)
    doc
      .getMap('m')
      .set(`dev.${i}`, { author: 'ann', body: { text: `message number ${i} about the contract` } })
  return updates
}

const stateOf = (rows: { update: Uint8Array }[]) => {
  const doc = new Y.Doc()
  for (const row of rows) Y.applyUpdate(doc, row.update)
  return doc.getMap('m').toJSON()
}

describe('compact', () => {
  it('merges every row into one with the same content, keeping the counts', async () => {
    const path = tempPath()
    const store = sqliteStorage({ path })
    const updates = chatUpdates(60)
    await store.write({
      updates: updates.map((update) => ({ doc: 'c/normal/1', update, messages: 1, newest: 7 })),
    })
    const before = stateOf(await store.load('c/normal/1'))
    await store.compact('c/normal/1')
    const rows = await store.load('c/normal/1')
    expect(rows.map((r) => r.n)).toEqual([61])
    expect(stateOf(rows)).toEqual(before)
    expect(await store.listDocs('c')).toEqual([{ doc: 'c/normal/1', updates: 1, messages: 60, newest: 7 }])
    // Row numbers keep rising after a compaction, across a reopen too.
    await store.write({ updates: [{ doc: 'c/normal/1', update: chatUpdates(1)[0]! }] })
    await store.close()
    const again = sqliteStorage({ path })
    expect((await again.load('c/normal/1')).map((r) => r.n)).toEqual([61, 62])
    await again.close()
  })

  it('leaves a doc of fewer than two rows as it is', async () => {
    const store = sqliteStorage({ path: tempPath() })
    await store.compact('c/none')
    await store.write({ updates: [{ doc: 'c/one', update: chatUpdates(1)[0]! }] })
    await store.compact('c/one')
    expect((await store.load('c/one')).map((r) => r.n)).toEqual([1])
    await store.close()
  })

  it('merges writes still queued when it is called', async () => {
    const store = sqliteStorage({ path: tempPath() })
    const updates = chatUpdates(5)
    const writes = updates.map((update) => store.write({ updates: [{ doc: 'c/d', update }] }))
    await store.compact('c/d')
    await Promise.all(writes)
    const rows = await store.load('c/d')
    expect(rows).toHaveLength(1)
    expect(Object.keys(stateOf(rows))).toHaveLength(5)
    await store.close()
  })

  it('deflates a large merged row, and reads it back', async () => {
    const store = sqliteStorage({ path: tempPath() })
    await store.write({ updates: chatUpdates(500).map((update) => ({ doc: 'c/d', update })) })
    const before = stateOf(await store.load('c/d'))
    await store.compact('c/d')
    const row = store.database.prepare('SELECT codec, size FROM updates').get() as {
      codec: number
      size: number
    }
    const [loaded] = await store.load('c/d')
    expect(row.codec).toBe(2)
    expect(row.size).toBeLessThan(loaded!.update.length / 2)
    expect(stateOf([loaded!])).toEqual(before)
    await store.close()

    const raw = sqliteStorage({ path: tempPath(), compressAbove: false })
    await raw.write({ updates: chatUpdates(500).map((update) => ({ doc: 'c/d', update })) })
    await raw.compact('c/d')
    expect(raw.database.prepare('SELECT codec FROM updates').pluck().get()).toBe(0)
    await raw.close()
  })

  it('sets a deflated row that does not inflate aside as storage/corrupt, checksum intact', async () => {
    const store = sqliteStorage({ path: tempPath() })
    await store.write({ updates: chatUpdates(500).map((update) => ({ doc: 'c/d', update })) })
    await store.compact('c/d')
    const garbage = new Uint8Array([255, 1, 2, 3, 4])
    store.database
      .prepare('UPDATE updates SET blob = ?, size = ?, crc = ? WHERE codec = 2')
      .run(garbage, garbage.length, crc32(Uint8Array.of(2), crc32(garbage)))
    await expect(store.load('c/d')).rejects.toMatchObject({ code: 'storage/corrupt', subject: 'c/d' })
    expect(await store.load('c/d')).toEqual([])
    const held = store.database.prepare('SELECT reason FROM quarantine').pluck().all()
    expect(held).toEqual(['the compressed blob cannot be inflated'])
    await store.close()
  })

  it('sets a deflated row whose codec marker was changed aside; older deflated rows still load', async () => {
    const store = sqliteStorage({ path: tempPath() })
    const updates = chatUpdates(500)
    await store.write({ updates: updates.map((update) => ({ doc: 'c/d', update })) })
    await store.write({ updates: updates.map((update) => ({ doc: 'c/e', update })) })
    await store.compact('c/d')
    await store.compact('c/e')
    const before = stateOf(await store.load('c/d'))
    // The checksum covers the marker: with the marker said raw, the row fails it.
    store.database.prepare("UPDATE updates SET codec = 0 WHERE doc = 'c/d'").run()
    await expect(store.load('c/d')).rejects.toMatchObject({ code: 'storage/corrupt', subject: 'c/d' })
    expect(await store.load('c/d')).toEqual([])
    expect(store.database.prepare('SELECT reason FROM quarantine').pluck().all()).toEqual([
      'checksum mismatch',
    ])
    // A deflated row of an older version: raw deflate (codec 1), its checksum over the blob alone.
    const [merged] = await store.load('c/e')
    const legacy = deflateRawSync(merged!.update)
    store.database
      .prepare("UPDATE updates SET blob = ?, codec = 1, size = ?, crc = ? WHERE doc = 'c/e'")
      .run(legacy, legacy.length, crc32(legacy))
    expect(stateOf(await store.load('c/e'))).toEqual(before)
    await store.close()
  })

  // A damaged deflated row whose checksum was rewritten to fit (a tool or an attacker did it) may
  // still inflate: the zlib trailer's Adler-32 over the inflated bytes must catch what the outer
  // CRC no longer can. Every byte of the blob is damaged in turn; each load either gives the doc
  // exactly as written (the flip hit padding bits) or refuses it and sets the row aside.
  it('never loads a damaged deflated row as other content, even with the checksum rewritten', async () => {
    const path = tempPath()
    const store = sqliteStorage({ path })
    await store.write({ updates: chatUpdates(300).map((update) => ({ doc: 'c/d', update })) })
    await store.compact('c/d')
    const before = stateOf(await store.load('c/d'))
    const { blob, n } = store.database.prepare('SELECT blob, n FROM updates').get() as {
      blob: Buffer
      n: number
    }
    const put = store.database.prepare('INSERT OR REPLACE INTO updates VALUES (?, ?, ?, 2, ?, ?)')
    const checksum = (b: Uint8Array) => crc32(Uint8Array.of(2), crc32(b))
    let refused = 0
    for (let at = 0; at < blob.length; at += Math.max(1, blob.length >> 7)) {
      const damaged = Buffer.from(blob)
      damaged[at] = damaged[at]! ^ 0x5a
      store.database.prepare('DELETE FROM quarantine').run()
      put.run('c/d', n, damaged, damaged.length, checksum(damaged))
      const loaded = await store.load('c/d').then(
        (rows) => ({ rows }),
        (error: { code: string }) => ({ error }),
      )
      if ('rows' in loaded) expect(stateOf(loaded.rows)).toEqual(before)
      else {
        expect(loaded.error.code).toBe('storage/corrupt')
        expect(store.database.prepare('SELECT count(*) FROM quarantine').pluck().get()).toBe(1)
        refused++
      }
    }
    expect(refused).toBeGreaterThan(100)
    await store.close()
  })

  it('keeps the old rows when compaction fails after deleting them, in the same transaction', async () => {
    const path = tempPath()
    const store = sqliteStorage({ path })
    await store.write({ updates: chatUpdates(3).map((update) => ({ doc: 'c/d', update })) })
    // The merged row is inserted after the old ones are deleted: fail exactly there.
    store.database.exec(
      "CREATE TEMP TRIGGER fail_insert BEFORE INSERT ON updates BEGIN SELECT RAISE(ABORT, 'power cut'); END",
    )
    await expect(store.compact('c/d')).rejects.toThrow(/power cut/)
    expect((await store.load('c/d')).map((r) => r.n)).toEqual([1, 2, 3])
    expect((await store.listDocs('c'))[0]!.updates).toBe(3)
    store.database.exec('DROP TRIGGER fail_insert')
    await store.compact('c/d')
    expect((await store.load('c/d')).map((r) => r.n)).toEqual([4])
    await store.close()
  })

  it('keeps a write that commits while the merged row is being deflated, with counts in step', async () => {
    const store = sqliteStorage({ path: tempPath() })
    const [late, ...updates] = chatUpdates(501)
    await store.write({ updates: updates.map((update) => ({ doc: 'c/d', update, messages: 1 })) })
    // The write is queued while compact() deflates on the thread pool, and commits before its swap.
    const compaction = store.compact('c/d')
    await Promise.all([compaction, store.write({ updates: [{ doc: 'c/d', update: late!, messages: 1 }] })])
    const rows = await store.load('c/d')
    expect(Object.keys(stateOf(rows))).toHaveLength(501)
    expect(await store.listDocs('c')).toEqual([
      { doc: 'c/d', updates: rows.length, messages: 501, newest: 0 },
    ])
    await store.compact('c/d')
    expect(await store.load('c/d')).toHaveLength(1)
    await store.close()
  })

  it('changes nothing when the rows it merged were dropped or compacted before its swap', async () => {
    const store = sqliteStorage({ path: tempPath() })
    const updates = chatUpdates(500)
    await store.write({ updates: updates.map((update) => ({ doc: 'c/d', update, messages: 1 })) })
    await store.write({ updates: updates.map((update) => ({ doc: 'c/e', update, messages: 1 })) })
    await Promise.all([store.compact('c/d'), store.drop('c/d')])
    await Promise.all([store.compact('c/e'), store.compact('c/e')])
    expect(await store.load('c/d')).toEqual([])
    expect(store.database.prepare("SELECT count(*) FROM updates WHERE doc = 'c/d'").pluck().get()).toBe(0)
    const rows = await store.load('c/e')
    expect(rows).toHaveLength(1)
    expect(Object.keys(stateOf(rows))).toHaveLength(500)
    expect(await store.listDocs('c')).toEqual([{ doc: 'c/e', updates: 1, messages: 500, newest: 0 }])
    await store.close()
  })

  it('refuses rows Yjs cannot merge with storage/corrupt and changes nothing', async () => {
    const store = sqliteStorage({ path: tempPath() })
    await store.write({
      updates: [
        { doc: 'c/d', update: bytes(200, 1, 2) },
        { doc: 'c/d', update: bytes(3) },
      ],
    })
    await expect(store.compact('c/d')).rejects.toMatchObject({ code: 'storage/corrupt', subject: 'c/d' })
    expect((await store.load('c/d')).map((r) => r.n)).toEqual([1, 2])
    await store.close()
  })
})
