import { memoryLocks, tabLeader } from '@tidings/transport-broadcast'
import { describe, expect, it } from 'vitest'

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('tabLeader', () => {
  it('elects one tab at a time, in queue order, and hands over when the leader closes', async () => {
    const locks = memoryLocks()
    const tabs = [1, 2, 3].map(() => tabLeader({ name: 'store', locks }))
    expect(await tabs[0]!.elected).toBe(true)
    await tick()
    expect(tabs.map((t) => t.isLeader)).toEqual([true, false, false])
    expect([...locks.held]).toEqual(['tidings-tab:store'])

    await tabs[0]!.close()
    expect(await tabs[1]!.elected).toBe(true)
    expect(tabs.map((t) => t.isLeader)).toEqual([false, true, false])
    await tabs[1]!.close()
    expect(await tabs[2]!.elected).toBe(true)
    await tabs[2]!.close()
    expect([...locks.held]).toEqual([])
  })

  it('a tab that leaves the queue never leads, and its elected promise says so', async () => {
    const locks = memoryLocks()
    const first = tabLeader({ name: 'store', locks })
    const gone = tabLeader({ name: 'store', locks })
    const last = tabLeader({ name: 'store', locks })
    await first.elected
    await gone.close()
    expect(await gone.elected).toBe(false)
    await first.close()
    expect(await last.elected).toBe(true)
    expect(gone.isLeader).toBe(false)
    await last.close()
  })

  it('keeps storages apart: each name has its own leader', async () => {
    const locks = memoryLocks()
    const a = tabLeader({ name: 'a', locks })
    const b = tabLeader({ name: 'b', locks })
    expect(await Promise.all([a.elected, b.elected])).toEqual([true, true])
    await Promise.all([a.close(), b.close()])
  })

  it('leads at once where there are no Web Locks (Node) or with locks: null', async () => {
    const node = tabLeader({ name: 'store' })
    expect(await node.elected).toBe(true)
    expect(node.isLeader).toBe(true)
    const off = tabLeader({ name: 'store', locks: null })
    expect(await off.elected).toBe(true)
    await Promise.all([node.close(), off.close()])
    expect(node.isLeader).toBe(false)
  })

  it('refuses a missing name', () => {
    expect(() => tabLeader({ name: '' })).toThrow(/name/)
  })
})

describe('memoryLocks', () => {
  it('answers ifAvailable requests with null while the lock is held', async () => {
    const locks = memoryLocks()
    let release!: () => void
    void locks.request('x', {}, () => new Promise<void>((resolve) => (release = resolve)))
    await tick()
    const seen = await locks.request('x', { ifAvailable: true }, async (lock) => lock)
    expect(seen).toBeNull()
    release()
    await tick()
    expect(await locks.request('x', { ifAvailable: true }, async (lock) => lock?.name)).toBe('x')
  })

  it('rejects an aborted request with AbortError and releases a lock whose callback threw', async () => {
    const locks = memoryLocks()
    const controller = new AbortController()
    controller.abort()
    await expect(locks.request('x', { signal: controller.signal }, async () => 1)).rejects.toMatchObject({
      name: 'AbortError',
    })
    await expect(
      locks.request('x', {}, async () => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(locks.held.size).toBe(0)
  })
})
