import { join } from 'node:path'
import { constants, crc32, createDeflate, createDeflateRaw, deflateRawSync, inflateSync } from 'node:zlib'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { beforeAll, describe, expect, it } from 'vitest'
import { copyDb, offlineClient, rawDb, tempDir, text } from '../attack12/sqlite-file.js'

// Attack on codec 2 (zlib) compacted rows of @tidings/storage-sqlite, from the file's side only:
// the README promises that damaged rows are refused with storage/corrupt, set aside in `quarantine`,
// never load as other content, leave other docs alone, and that the doc takes sends afterwards.
const A = 'room-a'
const B = 'room-b'
const N = 200
let base = ''
let laneA = ''
let laneB = ''

interface Row {
  doc: string
  n: number
  blob: Buffer
  codec: number
  crc: number
}

const withCodec = (blob: Buffer, codec: number) => Buffer.concat([blob, Buffer.from([codec])])
/** The CRC the README describes: over blob and codec byte for codec 2, over blob alone otherwise. */
const crcFor = (blob: Buffer, codec: number) => (codec === 2 ? crc32(withCodec(blob, codec)) : crc32(blob))

beforeAll(async () => {
  base = join(tempDir(true), 'base.db')
  const { client } = offlineClient(base)
  for (const room of [A, B]) {
    const convo = await client.open(room)
    await convo.send({ text: `${room} urgent` }, { priority: 'urgent' })
    for (let i = 0; i < N; i++) await convo.send({ text: `${room} ${i} ${text()} ${text()}` })
  }
  await client.close()
  const lanes = rawDb(base, (db) =>
    db.prepare(`select doc from docs where doc like '%/normal/%' order by doc`).all(),
  ) as {
    doc: string
  }[]
  laneA = lanes.find((l) => l.doc.startsWith(`${A}/`))!.doc
  laneB = lanes.find((l) => l.doc.startsWith(`${B}/`))!.doc
  const storage = sqliteStorage({ path: base })
  await storage.compact(laneA)
  await storage.compact(laneB)
  await storage.close()
}, 60_000)

const rowsOf = (path: string, doc: string) =>
  rawDb(
    path,
    (db) =>
      db.prepare('select doc, n, blob, codec, crc from updates where doc = ? order by n').all(doc) as Row[],
  )

const copyOfBase = () => {
  const path = join(tempDir(), 'damaged.db')
  copyDb(base, path)
  return path
}

const setRow = (
  path: string,
  row: Row,
  change: { blob?: Buffer; codec?: number; crc?: number; doc?: string; n?: number },
) =>
  rawDb(path, (db) => {
    const blob = change.blob ?? row.blob
    db.prepare(
      'update updates set doc = ?, n = ?, blob = ?, codec = ?, size = ?, crc = ? where doc = ? and n = ?',
    ).run(
      change.doc ?? row.doc,
      change.n ?? row.n,
      blob,
      change.codec ?? row.codec,
      blob.length,
      change.crc ?? row.crc,
      row.doc,
      row.n,
    )
  })

const quarantined = (path: string) =>
  rawDb(path, (db) => (db.prepare('select count(*) as n from quarantine').get() as { n: number }).n)

/** Opens both rooms fully, as the app would; returns each room's message texts and the errors. */
const openBoth = async (path: string) => {
  const { client, errors } = offlineClient(path)
  const texts: Record<string, string[]> = {}
  for (const room of [A, B]) {
    const convo = await client.open(room)
    while (await convo.loadOlder()) {}
    texts[room] = convo.messages().map((m) => (m.body as { text: string }).text)
  }
  await client.close()
  return { texts, codes: errors.map((e) => e.code) }
}

/** Every text in `room` belongs to that room: nothing from elsewhere, nothing invented, none twice. */
const expectOwnContent = (room: string, texts: string[]) => {
  expect(texts.filter((t) => !t.startsWith(`${room} `))).toEqual([])
  expect(new Set(texts).size).toBe(texts.length)
}

/** After the damage was refused, room `room` takes sends that survive compaction and a reopen. */
const expectSendsAgain = async (path: string, room: string) => {
  const first = offlineClient(path)
  const convo = await first.client.open(room)
  const later: string[] = []
  for (let i = 0; i < 40; i++) later.push((await convo.send({ text: `${room} later ${i}` })).id)
  await first.client.close()
  const storage = sqliteStorage({ path })
  for (const doc of await storage.listDocs(room)) await storage.compact(doc.doc)
  await storage.close()
  const again = offlineClient(path)
  const reopened = await again.client.open(room)
  while (await reopened.loadOlder()) {}
  const ids = new Set(reopened.messages().map((m): string => m.id))
  expect(later.filter((id) => !ids.has(id))).toEqual([])
  expect(again.errors.map((e) => e.code)).toEqual([])
  await again.client.close()
}

/** A deflate stream of `size` zero bytes (1 KiB of stream per ~1 MiB inflated). */
const zeroBomb = (size: number, raw: boolean): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const stream = raw
      ? createDeflateRaw({ level: constants.Z_BEST_COMPRESSION })
      : createDeflate({ level: 9 })
    const out: Buffer[] = []
    stream.on('data', (chunk: Buffer) => out.push(chunk))
    stream.on('end', () => resolve(Buffer.concat(out)))
    stream.on('error', reject)
    const zero = Buffer.alloc(1 << 20)
    let left = size >> 20
    const write = () => {
      while (left > 0) {
        left--
        if (!stream.write(zero)) return void stream.once('drain', write)
      }
      stream.end()
    }
    write()
  })

describe('codec 2 rows of @tidings/storage-sqlite, damaged from outside', () => {
  it('control: both lanes are stored as one zlib row (codec 2) and load whole', async () => {
    for (const lane of [laneA, laneB]) {
      const rows = rowsOf(base, lane)
      expect(rows.map((r) => r.codec)).toEqual([2])
      const row = rows[0]!
      // zlib header (CMF 0x78) and a CRC over blob + codec byte, as documented.
      expect(row.blob[0]).toBe(0x78)
      expect(row.crc >>> 0).toBe(crc32(withCodec(row.blob, 2)) >>> 0)
      expect(inflateSync(row.blob).length).toBeGreaterThan(row.blob.length)
    }
    const { texts, codes } = await openBoth(base)
    expect(codes).toEqual([])
    expect(texts[A]).toHaveLength(N + 1)
    expect(texts[B]).toHaveLength(N + 1)
  })

  it('a codec 1 row (raw deflate, CRC over the blob, as older versions wrote it) still loads whole', async () => {
    const path = copyOfBase()
    const row = rowsOf(path, laneA)[0]!
    const blob = deflateRawSync(inflateSync(row.blob))
    setRow(path, row, { blob, codec: 1, crc: crc32(blob) })
    const { texts, codes } = await openBoth(path)
    expect(codes).toEqual([])
    expect(texts[A]).toHaveLength(N + 1)
    expectOwnContent(A, texts[A]!)
  })

  // Every relabelling of a compacted row's codec marker, with the CRC left and with it rewritten to
  // fit the new marker: none may load as anything but the refusal.
  const swaps: [string, number, number][] = []
  for (const from of [1, 2])
    for (const to of [0, 1, 2, 3]) if (from !== to) swaps.push([`codec ${from} -> ${to}`, from, to])
  for (const [name, from, to] of swaps) {
    for (const fixCrc of [false, true]) {
      // A row whose CRC fits a raw marker reaches Yjs: the client finds it unreadable and has the
      // adapter set it aside (`setAside`), as the adapter does itself with a CRC failure.
      const title = `${name}${fixCrc ? ', CRC rewritten to fit' : ''}: refused, other docs untouched, sends again`
      const attack = async () => {
        const path = copyOfBase()
        const row = rowsOf(path, laneA)[0]!
        const blob = from === 1 ? deflateRawSync(inflateSync(row.blob)) : row.blob
        setRow(path, row, { blob, codec: to, crc: fixCrc ? crcFor(blob, to) : crcFor(blob, from) })
        const { texts, codes } = await openBoth(path)
        expect(codes).toContain('storage/corrupt')
        expectOwnContent(A, texts[A]!)
        expect(texts[A]!).toContain(`${A} urgent`)
        expect(texts[B]).toHaveLength(N + 1)
        expect(quarantined(path)).toBeGreaterThan(0)
        await expectSendsAgain(path, A)
      }
      // Was FINDING (attack14 #3), fixed: a row whose CRC fits but which Yjs cannot decode (a
      // codec 1 row relabelled raw, or a codec 2 row relabelled raw with its CRC rewritten) was
      // reported with storage/corrupt but never set aside, so every later send() into that lane doc
      // rejected with storage/corrupt, after every reopen.
      it(title, attack)
    }
  }

  // FINDING (attack14 #1), left by design (packages/storage-sqlite/README.md, Schema): a compacted
  // row moved whole (blob, codec and CRC untouched) from room-a's doc into room-b's loads there, and
  // room-b shows room-a's messages. The checksums tell damage, not deliberate edits: whoever can
  // write the file can write any content, checksums included. Kept as a record of the limit.
  it.fails("a row moved to another conversation's doc never loads there", async () => {
    const path = copyOfBase()
    const rowA = rowsOf(path, laneA)[0]!
    const rowB = rowsOf(path, laneB)[0]!
    rawDb(path, (db) => db.prepare('delete from updates where doc = ? and n = ?').run(rowB.doc, rowB.n))
    setRow(path, rowA, { doc: laneB, n: rowB.n })
    const { texts } = await openBoth(path)
    expectOwnContent(B, texts[B]!)
  })

  // Odd zlib streams under a fitted CRC: empty, a header asking for a preset dictionary, a valid
  // stream with bytes after its trailer, a stream of the right content at another level.
  const odd: [string, (row: Row) => Buffer][] = [
    ['an empty blob', () => Buffer.alloc(0)],
    ['the zlib header alone', (row) => row.blob.subarray(0, 2)],
    [
      'a header with the preset-dictionary flag',
      (row) => {
        const copy = Buffer.from(row.blob)
        copy[1] = 0xbb // FDICT set, FCHECK fitted: (0x78 << 8 | 0xbb) % 31 === 0
        return copy
      },
    ],
    [
      'garbage after the Adler-32 trailer',
      (row) => Buffer.concat([row.blob, Buffer.from('trailing garbage')]),
    ],
    [
      "a second zlib stream (another room's row) after the first",
      (row) => Buffer.concat([row.blob, rowsOf(base, laneB)[0]!.blob]),
    ],
  ]
  for (const [name, make] of odd) {
    it(`${name}, CRC fitted: refused and set aside, or read as exactly what was compacted`, async () => {
      const path = copyOfBase()
      const row = rowsOf(path, laneA)[0]!
      const blob = make(row)
      setRow(path, row, { blob, codec: 2, crc: crcFor(blob, 2) })
      const { texts, codes } = await openBoth(path)
      expectOwnContent(A, texts[A]!)
      expect(texts[B]).toHaveLength(N + 1)
      // Either refused and set aside, or read as exactly what was compacted.
      if (codes.includes('storage/corrupt')) expect(quarantined(path)).toBeGreaterThan(0)
      else expect(texts[A]).toHaveLength(N + 1)
      console.info(`[attack14] ${name}: ${codes.includes('storage/corrupt') ? 'refused' : 'loaded whole'}`)
      await expectSendsAgain(path, A)
    })
  }

  // FINDING (attack14 #1, within one conversation), left by design as above: room-a's compacted
  // normal row copied over its urgent doc's row loads, and the urgent message is gone.
  it.fails("a lane row copied over another lane's row of the same room is refused", async () => {
    const path = copyOfBase()
    const rowA = rowsOf(path, laneA)[0]!
    const urgent = rawDb(path, (db) =>
      db.prepare(`select doc from docs where doc like '${A}/urgent/%'`).get(),
    ) as {
      doc: string
    }
    const [urgentRow] = rowsOf(path, urgent.doc)
    rawDb(path, (db) => {
      db.prepare('delete from updates where doc = ?').run(urgent.doc)
      db.prepare('insert into updates (doc, n, blob, codec, size, crc) values (?, ?, ?, ?, ?, ?)').run(
        urgent.doc,
        urgentRow!.n,
        rowA.blob,
        rowA.codec,
        rowA.blob.length,
        rowA.crc,
      )
    })
    const { texts, codes } = await openBoth(path)
    console.info(
      `[attack14] lane row over the urgent row: ${texts[A]!.length} shown, codes ${JSON.stringify(codes)}`,
    )
    expect(codes).toContain('storage/corrupt')
  })

  // (A copy added beside room-b's own row instead of replacing it loads room-a's 200 messages over
  // room-b's in about half the runs: the message ids collide and Yjs picks by random clientID. Left
  // out for that nondeterminism; the replaced row above shows the same defect every time.)

  // Was FINDING (attack14 #2), fixed: a 1 MiB codec 2 row that inflates to 1 GiB of zeros (valid
  // zlib stream, Adler-32 and CRC fitted) loaded without any error: the process's RSS grew by ~3 GiB
  // while it inflated, the zeros decoded as an empty Yjs update, so the lane's 200 messages silently
  // vanished and nothing was quarantined. Rows now inflate to at most `maxRowBytes` (256 MiB).
  it('a small codec 2 row that inflates to 1 GiB (valid zlib, CRC fitted) is refused, not loaded', {
    timeout: 30_000,
  }, async () => {
    const path = copyOfBase()
    const row = rowsOf(path, laneA)[0]!
    const blob = await zeroBomb(1 << 30, false)
    expect(blob.length).toBeLessThan(2 << 20)
    setRow(path, row, { blob, codec: 2, crc: crcFor(blob, 2) })
    const rss = process.memoryUsage().rss
    const { texts, codes } = await openBoth(path)
    const grew = process.memoryUsage().rss - rss
    console.info(
      `[attack14] 1 GiB zlib bomb: codes ${JSON.stringify(codes)}, rss grew ${(grew / 2 ** 20).toFixed(0)} MiB`,
    )
    expect(codes).toContain('storage/corrupt')
    expect(quarantined(path)).toBeGreaterThan(0)
    expectOwnContent(A, texts[A]!)
    expect(texts[B]).toHaveLength(N + 1)
  })

  // Was FINDING (attack14 #2, codec 1), fixed: the same with an old-format raw-deflate row.
  it('a small codec 1 row that inflates to 1 GiB (CRC fitted) is refused, not loaded', {
    timeout: 30_000,
  }, async () => {
    const path = copyOfBase()
    const row = rowsOf(path, laneA)[0]!
    const blob = await zeroBomb(1 << 30, true)
    setRow(path, row, { blob, codec: 1, crc: crc32(blob) })
    const { texts, codes } = await openBoth(path)
    console.info(`[attack14] 1 GiB raw-deflate bomb: codes ${JSON.stringify(codes)}`)
    expect(codes).toContain('storage/corrupt')
    expectOwnContent(A, texts[A]!)
    expect(texts[B]).toHaveLength(N + 1)
  })
})
