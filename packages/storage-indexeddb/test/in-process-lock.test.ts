import { createClient } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import { fakeBrowser } from './helpers.js'

describe('without Web Locks', () => {
  it('refuses a second client on the same database in this process with storage/locked', async () => {
    // Node has no navigator.locks: this is the path of fake-indexeddb and of old browsers.
    const browser = fakeBrowser()
    const first = createClient({ user: 'ann', storage: browser.open({ name: 'shared' }) })
    const c1 = await first.open('room')
    const m1 = await c1.send('one')

    const second = createClient({ user: 'ann', storage: browser.open({ name: 'shared' }) })
    await expect(second.open('room')).rejects.toMatchObject({ code: 'storage/locked' })
    const m2 = await c1.send('two')
    expect(m2.id).not.toBe(m1.id)
    await second.close()

    // Another database, or another factory (another origin), is not held.
    const other = browser.open({ name: 'other' })
    await other.write({ meta: { k: 'v' } })
    await other.close()
    const elsewhere = fakeBrowser().open({ name: 'shared' })
    await elsewhere.write({ meta: { k: 'v' } })
    await elsewhere.close()

    // Closing the first releases the database.
    await first.close()
    const third = createClient({ user: 'ann', storage: browser.open({ name: 'shared' }) })
    const c3 = await third.open('room')
    expect(c3.messages().map((m) => m.body)).toEqual(['one', 'two'])
    const m3 = await c3.send('three')
    expect([m1.id, m2.id]).not.toContain(m3.id)
    await third.close()
  })
})
