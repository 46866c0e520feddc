import { createClient } from '@tidings/core'
import { chatText } from '@tidings/testing'
import { describe, expect, it } from 'vitest'
import { fakeBrowser, memoryLocks } from '../../packages/storage-indexeddb/test/helpers.js'

// The IndexedDB write cache (issue 12) keeps doc records and outbox keys in memory under the Web
// Lock; compaction (now compressing) swaps rows beside it. Sends race a compaction loop, some of
// them concurrent; after a reopen every resolved send is there once, the doc counts match, and the
// outbox lists each message once.
const ROOM = 'idb-race'
const N = 400

describe('IndexedDB sends racing compaction', () => {
  it('keep every message once, with right counts and outbox', { timeout: 50_000 }, async () => {
    const browser = fakeBrowser()
    const locks = memoryLocks()
    const storage = browser.open({ name: 'race', locks, compressAbove: 256 })
    const client = createClient({ user: 'ann', storage })
    const convo = await client.open(ROOM)
    const text = chatText(3)
    const ids: string[] = []
    let running = true
    const compacting = (async () => {
      while (running) {
        for (const d of await storage.listDocs(ROOM)) await storage.compact(d.doc)
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
    })()
    for (let i = 0; i < N; i += 4) {
      // Four at once, as a burst of sends from the UI.
      const batch = await Promise.all([0, 1, 2, 3].map((j) => convo.send({ text: `${i + j} ${text()}` })))
      ids.push(...batch.map((m) => m.id))
    }
    running = false
    await compacting
    await client.close()

    const again = createClient({ user: 'ann', storage: browser.open({ name: 'race', locks }) })
    const c = await again.open(ROOM)
    while (await c.loadOlder()) {}
    const shown = c.messages().map((m): string => m.id)
    expect(ids.filter((id) => !shown.includes(id))).toEqual([])
    expect(shown).toHaveLength(N)
    await new Promise<void>((resolve) => {
      if (c.pending().length >= N) return resolve()
      const stop = c.subscribe(() => {
        if (c.pending().length >= N) {
          stop()
          resolve()
        }
      })
    })
    const pending = c.pending().map((m) => m.id)
    expect(pending).toHaveLength(N)
    expect(new Set(pending)).toEqual(new Set(ids))
    await again.close()
    const check = browser.open({ name: 'race', locks })
    const docs = await check.listDocs(ROOM)
    expect(docs.reduce((sum, d) => sum + d.messages, 0)).toBe(N)
    await check.close()
  })
})
