import { isTidingsError } from '@tidings/core'
import { indexeddbStorage, type LockManagerLike } from '@tidings/storage-indexeddb'
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'
import { fakeBrowser, memoryLocks } from './helpers.js'

// The browser's LockManager fits the option's type.
const browserLocks: LockManagerLike | undefined = (globalThis as { navigator?: Navigator }).navigator?.locks

describe('the Web Lock', () => {
  it('lets one adapter per database write; a second gets storage/locked on its first call', async () => {
    const locks = memoryLocks()
    const browser = fakeBrowser()
    const first = browser.open({ name: 'tabbed', locks })
    await first.write({ meta: { tab: '1' } })
    expect([...locks.held]).toEqual(['tidings:tabbed'])

    const second = browser.open({ name: 'tabbed', locks })
    const error = await second.getMeta('tab').catch((e: unknown) => e)
    expect(isTidingsError(error, 'storage/locked')).toBe(true)
    expect((error as Error).message).toMatch(/Web Lock/)
    await expect(second.write({ meta: { tab: '2' } })).rejects.toMatchObject({ code: 'storage/locked' })
    await second.close()

    // Another database of the same origin is not held.
    const other = browser.open({ name: 'other', locks })
    await other.write({ meta: { tab: '3' } })
    await other.close()

    expect(await first.getMeta('tab')).toBe('1')
    await first.close()
    expect([...locks.held]).toEqual([])
    const third = browser.open({ name: 'tabbed', locks })
    expect(await third.getMeta('tab')).toBe('1')
    await third.close()
  })

  it('is taken when the adapter is created, before its first call', async () => {
    const locks = memoryLocks()
    const browser = fakeBrowser()
    const first = browser.open({ name: 'early', locks })
    const second = browser.open({ name: 'early', locks })
    await expect(second.listDocs('x')).rejects.toMatchObject({ code: 'storage/locked' })
    await expect(first.listDocs('x')).resolves.toEqual([])
    await Promise.all([first.close(), second.close()])
  })

  it('is replaced by a lock of this process where no LockManager exists (Node) or with locks: null', async () => {
    expect(browserLocks).toBeUndefined()
    const indexedDB = new IDBFactory()
    const a = indexeddbStorage({ name: 'n', indexedDB, IDBKeyRange })
    const b = indexeddbStorage({ name: 'n', indexedDB, IDBKeyRange, locks: null })
    await a.write({ meta: { k: 'a' } })
    await expect(b.getMeta('k')).rejects.toMatchObject({ code: 'storage/locked' })
    await Promise.all([a.close(), b.close()])
    const c = indexeddbStorage({ name: 'n', indexedDB, IDBKeyRange, locks: null })
    expect(await c.getMeta('k')).toBe('a')
    await c.close()
  })

  it('asks for IndexedDB where there is none', () => {
    expect(() => indexeddbStorage()).toThrow(expect.objectContaining({ code: 'input/invalid' }))
  })
})
