import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient, memoryStorage } from '@tidings/core'
import { websocketTransport } from '@tidings/transport-websocket'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startWebChat, type WebChatServer } from '../../examples/server/web-chat-server.js'
import { CHROMIUM, CHROMIUM_ARGS, chromiumInstalled, skipWithoutChromium } from '../support/chromium.js'
import { ChatPage, DEADLINE } from './chat-page.js'

// Gitignored: the final state of each page, to look at after a run.
const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url))

const skip = skipWithoutChromium('web-chat.test.ts')

/** Waits until both pages show the same conversation. */
const waitEqual = async (a: ChatPage, b: ChatPage) => {
  const deadline = Date.now() + DEADLINE
  for (;;) {
    const [left, right] = await Promise.all([a.shown(), b.shown()])
    if (JSON.stringify(left) === JSON.stringify(right)) return
    if (Date.now() > deadline) expect(left).toEqual(right)
    await a.page.waitForTimeout(50)
  }
}

/** Records, in bob's page, the order in which new messages reach the app from core. */
const recordArrivals = (bob: ChatPage) =>
  bob.page.evaluate(async () => {
    const convo = await window.tidings!.client.open('ops-room')
    const seen = new Set(convo.messages().map((m) => m.id))
    const arrivals: string[] = []
    ;(window as unknown as { arrivals: string[] }).arrivals = arrivals
    convo.subscribe(() => {
      for (const m of convo.messages()) {
        if (seen.has(m.id)) continue
        seen.add(m.id)
        arrivals.push(`${m.priority} ${(m.body as { text: string }).text}`)
      }
    })
  })

describe.skipIf(skip)('the web chat in Chromium', () => {
  let chat: WebChatServer
  let browser: Browser
  let dataDir: string

  beforeAll(async () => {
    if (!chromiumInstalled)
      throw new Error(`CI is set but ${CHROMIUM} is missing: .ci/run should install chromium.`)
    dataDir = mkdtempSync(join(tmpdir(), 'tidings-web-chat-'))
    // The server `npm start` runs, on a free port; it builds the app first when the build is stale.
    chat = await startWebChat({ port: 0, host: '127.0.0.1', dataDir })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await chat?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('two users chat in Chromium: offline writes survive a reload, urgent arrives first, both converge to read', async () => {
    const aliceBrowser = await browser.newContext()
    const alice = await ChatPage.open(aliceBrowser, chat.httpUrl, 'alice')
    const bob = await ChatPage.open(await browser.newContext(), chat.httpUrl, 'bob')
    await Promise.all([alice.connected(), bob.connected()])

    await alice.send('Shipment leaves at 14:00')
    await bob.until('bob sees the first message', () =>
      document.body.textContent?.includes('Shipment leaves at 14:00'),
    )
    await alice.ownStatuses('read by bob')

    // Presence: bob types without sending, and alice sees it (through both users' leading tabs).
    await bob.page.getByLabel('message', { exact: true }).fill('on my way')
    await alice.until('bob typing', () =>
      document.querySelector('[data-testid=typing]')?.textContent?.includes('bob'),
    )
    await alice.until(
      'bob here',
      () => document.querySelector('[data-testid=online]')?.textContent === 'here: bob',
    )
    await bob.page.getByLabel('message', { exact: true }).fill('')
    await alice.until('bob stopped typing', () => !document.querySelector('[data-testid=typing]'))

    // Alice cuts her link and writes, the last one urgent: cached on her device only.
    await recordArrivals(bob)
    await alice.setOffline(true)
    await alice.connected('offline')
    await alice.send('Pallets 3-7 loaded')
    await alice.send('Driver is late')
    await alice.send('STOP: wrong container, do not sign', 'urgent')
    await alice.until(
      'three cached',
      () => document.querySelectorAll('.message[data-status=pending]').length === 3,
    )

    // A reload offline loses nothing: the page comes back signed in, still offline, from IndexedDB.
    await alice.page.reload()
    await alice.page.locator('[data-testid=me]').waitFor({ timeout: DEADLINE })
    await alice.until(
      'three cached after reload',
      () => document.querySelectorAll('.message[data-status=pending]').length === 3,
    )
    await alice.until('the outbox shown', () =>
      document
        .querySelector('[data-testid=sync-progress]')
        ?.textContent?.includes('3 cached, not yet on the server'),
    )
    expect(await alice.page.getByLabel('offline', { exact: true }).isChecked()).toBe(true)
    expect(await alice.page.locator('[data-testid=connection]').textContent()).toContain('switched off')
    expect(await bob.shown()).toHaveLength(1)

    await alice.setOffline(false)
    await alice.connected()
    await alice.until('the outbox empty', () => !document.querySelector('[data-testid=sync-progress]'))
    await bob.until('all four arrived', () => document.querySelectorAll('.message').length === 4)
    const arrivals = await bob.page.evaluate(() => (window as unknown as { arrivals: string[] }).arrivals)
    expect(arrivals[0]).toBe('urgent STOP: wrong container, do not sign')
    expect(arrivals).toHaveLength(3)

    // Both show the same conversation, and bob's reading reaches alice's page.
    await alice.ownStatuses('read by bob')
    expect(await alice.shown()).toEqual(await bob.shown())
    expect(await bob.page.locator('.message.urgent').count()).toBe(1)

    // Reply, edit, pin and delete reach the other page.
    await bob.act('STOP: wrong container', 'reply')
    await bob.send('Stopped. Which container?')
    await alice.until('the reply', () =>
      document.querySelector('.reply-to')?.textContent?.includes('alice: STOP'),
    )
    await alice.act('Driver is late', 'edit')
    await alice.page.getByLabel('message', { exact: true }).fill('Driver is 20 min late')
    await alice.page.getByRole('button', { name: 'save' }).click()
    await alice.act('STOP: wrong container', 'pin')
    await alice.act('Pallets 3-7 loaded', 'delete')
    await bob.until('edit, pin and delete', () => {
      const text = document.querySelector('.chat')?.textContent ?? ''
      return (
        text.includes('Driver is 20 min late(edited)') &&
        document.querySelector('.pins')?.textContent?.includes('STOP') &&
        text.includes('message deleted')
      )
    })

    // A message in another room shows as unread there, until bob opens it.
    await alice.openRoom('general')
    await alice.send('Lunch at noon?')
    await bob.until(
      '1 unread in #general',
      () => document.querySelector('[data-testid=unread-general]')?.textContent === '1',
    )
    await bob.openRoom('general')
    await bob.until('#general read', () => !document.querySelector('[data-testid=unread-general]'))
    await alice.openRoom('ops-room')
    await bob.openRoom('ops-room')
    await waitEqual(alice, bob)

    // A second tab of alice works the same: it follows the first (which holds storage and link).
    const aliceTab2 = await ChatPage.open(aliceBrowser, chat.httpUrl, 'alice')
    await aliceTab2.connected()
    await waitEqual(aliceTab2, alice)
    await aliceTab2.send('Sent from my second tab')
    await bob.until("the second tab's message", () =>
      document.body.textContent?.includes('Sent from my second tab'),
    )
    await Promise.all([alice.ownStatuses('read by bob'), aliceTab2.ownStatuses('read by bob')])
    await Promise.all([waitEqual(alice, bob), waitEqual(aliceTab2, bob)])

    mkdirSync(SHOTS, { recursive: true })
    await alice.screenshot(join(SHOTS, 'alice.png'))
    await aliceTab2.screenshot(join(SHOTS, 'alice-tab-2.png'))
    await bob.screenshot(join(SHOTS, 'bob.png'))
  }, 90_000)

  it('pages back through a long history as the reader scrolls up', async () => {
    // Carol's device wrote 80 messages over the last 80 minutes, one period doc per minute: more
    // than the first screen (50) holds.
    let now = Date.now() - 80 * 60_000
    const carol = createClient({
      user: 'carol',
      storage: memoryStorage(),
      transport: websocketTransport({ url: chat.wsUrl, token: 'demo-carol', WebSocket: WebSocket as never }),
      clock: { now: () => now },
      periodMs: 60_000,
    })
    const random = await carol.open('random')
    for (let i = 1; i <= 80; i++) {
      now += 60_000
      await random.send({ text: `history ${i}` })
    }
    await carol.whenSynced()
    await carol.close()

    const bob = await ChatPage.open(await browser.newContext(), chat.httpUrl, 'bob')
    await bob.openRoom('random')
    await bob.until('the newest message', () => document.body.textContent?.includes('history 80'))
    const first = await bob.page.locator('.message').count()
    expect(first).toBeLessThan(80)
    await bob.until('the whole history after scrolling up', () => {
      const list = document.querySelector('.messages')
      if (list) list.scrollTop = 0
      list?.dispatchEvent(new Event('scroll'))
      return document.querySelectorAll('.message').length === 80
    })
    await bob.until(
      'the beginning',
      () => document.querySelector('.older')?.textContent === 'beginning of the conversation',
    )
    expect(await bob.page.locator('.message .body').first().textContent()).toBe('history 1')
    mkdirSync(SHOTS, { recursive: true })
    await bob.screenshot(join(SHOTS, 'bob-history.png'))
  }, 60_000)
})
