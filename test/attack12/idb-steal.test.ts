import { type Client, createClient } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import { fakeBrowser } from '../../packages/storage-indexeddb/test/helpers.js'

// The IndexedDB write cache (issue 12) trusts that the Web Lock holder is the only writer. Another
// context steals the lock (`steal: true`), and a second tab's client opens the same database while
// the first tab's client is still alive. Whatever the first tab does next, every send that resolved
// must survive under its own id, with its own body: no two resolved sends may share a message id.

/** Web Locks with `steal`: the holder's request ends with AbortError and the lock is free again. */
const stealableLocks = () => {
  let holder: { name: string; abort: () => void } | undefined
  return {
    steal() {
      holder?.abort()
      holder = undefined
    },
    request(name: string, options: { ifAvailable: boolean }, callback: (lock: Lock | null) => unknown) {
      if (holder && options.ifAvailable) return Promise.resolve(callback(null))
      return new Promise((resolve, reject) => {
        const me = { name, abort: () => reject(new DOMException('The lock was stolen.', 'AbortError')) }
        holder = me
        Promise.resolve(callback({ name, mode: 'exclusive' } as Lock)).then((value) => {
          if (holder === me) holder = undefined
          resolve(value)
        }, reject)
      })
    },
  }
}

const sendAll = async (client: Client, tab: string, count: number, sent: Map<string, string[]>) => {
  const convo = await client.open('tabs-room')
  for (let i = 0; i < count; i++) {
    try {
      const m = await convo.send({ text: `${tab} ${i}` })
      sent.set(m.id, [...(sent.get(m.id) ?? []), `${tab} ${i}`])
    } catch {
      // A refused send (storage/locked) is fine: it never resolved.
    }
  }
}

describe('a stolen Web Lock with two live tabs on one IndexedDB database', () => {
  // Was FINDING (attack12 #4): after the steal, tab A's storage kept accepting writes (its sends
  // resolved) while tab B, now the lock holder, minted the same seqs from the same device id. Fixed:
  // once its lock is lost, every write of A's storage rejects with storage/locked.
  it('never lets two resolved sends share an id, and loses none', async () => {
    const browser = fakeBrowser()
    const locks = stealableLocks()
    const sent = new Map<string, string[]>()
    const a = createClient({ user: 'ann', storage: browser.open({ name: 'tabs', locks }) })
    await sendAll(a, 'A', 5, sent)
    locks.steal()
    await new Promise((resolve) => setTimeout(resolve, 0))
    const b = createClient({ user: 'ann', storage: browser.open({ name: 'tabs', locks }) })
    await sendAll(b, 'B', 5, sent)
    // Both tabs send, interleaved.
    await Promise.all([sendAll(a, 'A2', 5, sent), sendAll(b, 'B2', 5, sent)])
    await a.close().catch(() => undefined)
    await b.close()

    const c = createClient({ user: 'ann', storage: browser.open({ name: 'tabs', locks }) })
    const convo = await c.open('tabs-room')
    while (await convo.loadOlder()) {}
    const shared = [...sent].filter(([, bodies]) => bodies.length > 1)
    expect(shared).toEqual([])
    const stored = new Map(convo.messages().map((m) => [m.id as string, (m.body as { text: string }).text]))
    const lost = [...sent].filter(([id, [text]]) => stored.get(id) !== text)
    expect(lost).toEqual([])
    const pending = convo.pending().map((m): string => m.id)
    expect([...sent.keys()].filter((id) => !pending.includes(id))).toEqual([])
    await c.close()
  })
})
