import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll } from 'vitest'
import { startWebChat, type WebChatServer } from '../../examples/server/web-chat-server.js'
import type { ChatPage } from '../browser/chat-page.js'
import { CHROMIUM, CHROMIUM_ARGS, chromiumInstalled } from '../support/chromium.js'

/** Locally a missing Chromium skips these files; under CI it fails, as in test/browser. */
export const skipBrowser = !chromiumInstalled && !process.env.CI

/** The server `npm start` runs (in process, on a free port and a temp folder) and one Chromium. */
export interface WebChatFixture {
  readonly chat: WebChatServer
  readonly browser: Browser
}

/** Starts the server and the browser before the file's tests and stops both after them. */
export const useWebChat = (): WebChatFixture => {
  const state: { chat?: WebChatServer; browser?: Browser; dataDir?: string } = {}
  beforeAll(async () => {
    state.dataDir = mkdtempSync(join(tmpdir(), 'tidings-attackweb-'))
    state.chat = await startWebChat({ port: 0, host: '127.0.0.1', dataDir: state.dataDir })
    state.browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  }, 60_000)
  afterAll(async () => {
    await state.browser?.close()
    await state.chat?.close()
    if (state.dataDir) rmSync(state.dataDir, { recursive: true, force: true })
  })
  return {
    get chat() {
      if (!state.chat) throw new Error('the web chat is not started yet')
      return state.chat
    },
    get browser() {
      if (!state.browser) throw new Error('Chromium is not started yet')
      return state.browser
    },
  }
}

/** Collects the page's uncaught errors: an attack that throws in the page counts as a failure. */
export const pageErrors = (chat: ChatPage): string[] => {
  const errors: string[] = []
  chat.page.on('pageerror', (error) => errors.push(error.message))
  return errors
}
