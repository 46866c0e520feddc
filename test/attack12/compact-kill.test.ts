import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { offlineClient, rawDb, tempDir } from './sqlite-file.js'

// Bounded, compressed compaction (issue 12): kill -9 a client while its SQLite storage compacts and
// deflates the lane doc in a loop. After each kill the file reopens with every message whose send
// resolved, each stored in exactly one row (a half-done swap would keep it in two), counted once.
const here = fileURLToPath(new URL('.', import.meta.url))
const root = join(here, '../..')

const runAndKill = async (path: string, seed: number, after: number): Promise<string[]> => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'compact-child.ts'), path, String(seed)],
    {
      cwd: root,
      env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
    },
  )
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const deadline = Date.now() + 30_000
  while ((out.match(/\n/g)?.length ?? 0) < after && child.exitCode === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  child.kill('SIGKILL')
  await exited
  expect(err).toBe('')
  // Only whole lines: a line cut by the kill names a send whose resolve we cannot be sure of.
  return out
    .split('\n')
    .slice(0, -1)
    .map((line) => line.slice('sent '.length))
}

/** Message key → number of stored rows that carry its item, over every row of every doc. */
const rowsPerKey = (path: string) =>
  rawDb(path, (db) => {
    const counts = new Map<string, number>()
    const rows = db.prepare('select blob, codec from updates').all() as { blob: Buffer; codec: number }[]
    for (const row of rows) {
      const update = row.codec === 2 ? inflateSync(row.blob) : row.blob
      const keys = new Set<string>()
      for (const s of Y.decodeUpdate(new Uint8Array(update)).structs)
        if (s instanceof Y.Item && s.parentSub && s.parentSub.includes('.')) keys.add(s.parentSub)
      for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    return counts
  })

describe('kill -9 during compaction', () => {
  it('loses nothing and stores nothing twice, over six kills', { timeout: 60_000 }, async () => {
    const path = join(tempDir(), 'kill.db')
    const sent: string[] = []
    for (const [seed, after] of [
      [1, 180],
      [2, 333],
      [3, 251],
      [4, 97],
      [5, 402],
      [6, 219],
    ] as const) {
      sent.push(...(await runAndKill(path, seed, after)))
      const { client, errors } = offlineClient(path)
      const convo = await client.open('kill-room')
      while (await convo.loadOlder()) {}
      const ids = convo.messages().map((m): string => m.id)
      expect(errors.map((e) => e.code)).toEqual([])
      expect(sent.filter((id) => !ids.includes(id))).toEqual([])
      const pending = convo.pending().map((m): string => m.id)
      expect(new Set(pending).size).toBe(pending.length)
      expect(sent.filter((id) => !pending.includes(id))).toEqual([])
      await client.close()
      const twice = [...rowsPerKey(path)].filter(([, n]) => n > 1)
      expect(twice).toEqual([])
      const counted = rawDb(
        path,
        (db) => (db.prepare(`select sum(messages) as n from docs`).get() as { n: number }).n,
      )
      expect(counted).toBe(ids.length)
    }
    expect(sent.length).toBeGreaterThan(1300)
    // The kills hit a doc that compaction had deflated (else this attacked nothing new).
    expect(
      rawDb(path, (db) => db.prepare('select count(*) as n from updates where codec > 0').get()),
    ).toEqual({ n: 1 })
  })
})
