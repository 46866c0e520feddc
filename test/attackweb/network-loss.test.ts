import { describe, expect, it } from 'vitest'
import { ChatPage, DEADLINE } from '../browser/chat-page.js'
import { skipBrowser, useWebChat } from './fixture.js'

// The offline switch cuts the link by hand; these cut the browser's network itself
// (`context.setOffline`: `navigator.onLine` turns false and the `offline` event fires).
describe.skipIf(skipBrowser)('the web chat when the network itself goes away', () => {
  const world = useWebChat()

  it('stops saying "online" soon after the browser reports the network gone', async () => {
    const context = await world.browser.newContext()
    const alice = await ChatPage.open(context, world.chat.httpUrl, 'alice')
    await alice.connected()
    await context.setOffline(true)
    expect(await alice.page.evaluate(() => navigator.onLine)).toBe(false)
    const shown = await alice.page
      .waitForFunction(
        () => {
          const state = document.querySelector('[data-testid=connection]')
          return state?.getAttribute('data-state') === 'offline' && state.textContent?.includes('no network')
        },
        undefined,
        { timeout: 3_000, polling: 50 },
      )
      .then(
        () => true,
        () => false,
      )
    // The transport only notices at its 12 s ping timeout; the browser knew at once.
    expect(shown, '"offline (no network)" within 3 s of the browser going offline').toBe(true)
    await context.setOffline(false)
    await alice.connected()
  }, 30_000)

  it('a page reloaded without network opens from what it stored, and sends it when the network returns', async () => {
    const context = await world.browser.newContext()
    const alice = await ChatPage.open(context, world.chat.httpUrl, 'alice')
    const bob = await ChatPage.open(await world.browser.newContext(), world.chat.httpUrl, 'bob')
    await Promise.all([alice.connected(), bob.connected()])
    await alice.openRoom('general')
    await alice.send('seen before the network went')
    await context.setOffline(true)
    await alice.send('written without network')
    await alice.until('cached', () => document.querySelector('.message.own[data-status=pending]'))

    const reload = await alice.page.reload({ timeout: DEADLINE }).then(
      () => 'loaded',
      (error: Error) => error.message.split('\n')[0],
    )
    expect(reload, 'the chat cannot be opened offline (no app shell is cached)').toBe('loaded')
    await alice.page.locator('[data-testid=me]').waitFor({ timeout: DEADLINE })
    await alice.openRoom('general')
    await alice.until('both kept', () =>
      ['seen before the network went', 'written without network'].every((t) =>
        document.body.textContent?.includes(t),
      ),
    )
    await context.setOffline(false)
    await bob.openRoom('general')
    await bob.until('arrived', () => document.body.textContent?.includes('written without network'))
  }, 45_000)
})
