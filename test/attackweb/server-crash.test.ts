import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChatPage } from '../browser/chat-page.js'
import { CHROMIUM, CHROMIUM_ARGS, chromiumInstalled } from '../support/chromium.js'
import { runToExit, type StartedProcess, startProcess } from './start-process.js'

const skip = !chromiumInstalled && !process.env.CI

/** The connection line's state, e.g. 'online' or 'offline'. */
const stateOf = (chat: ChatPage) => chat.page.locator('[data-testid=connection]').getAttribute('data-state')

describe.skipIf(skip)('npm start as a process: killed with SIGKILL and started again', () => {
  let browser: Browser
  let dataDir: string
  const running: StartedProcess[] = []
  const folders: string[] = []

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tidings-attackweb-crash-'))
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    for (const p of running)
      if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGTERM')
    await Promise.all(running.map((p) => p.exited))
    for (const folder of [dataDir, ...folders]) rmSync(folder, { recursive: true, force: true })
  })

  it('pages say the server is down, keep what is written meanwhile, and lose nothing across the restart', async () => {
    const first = await startProcess(['--port', '0', '--data', dataDir])
    running.push(first)
    const alice = await ChatPage.open(await browser.newContext(), first.url, 'alice')
    const bob = await ChatPage.open(await browser.newContext(), first.url, 'bob')
    await Promise.all([alice.connected(), bob.connected()])
    await alice.send('before the crash')
    await alice.ownStatuses('read by bob')
    // Acknowledged by the server (no longer cached) the moment before the process dies.
    await alice.send('acked just before the crash', 'urgent')
    await alice.until('acked', () =>
      Array.from(document.querySelectorAll('.message.own [data-testid=status]')).every(
        (s) => s.textContent !== 'cached',
      ),
    )
    first.proc.kill('SIGKILL')
    await first.exited

    await alice.until('the reason shown', () =>
      document.querySelector('[data-testid=connection]')?.textContent?.includes('server down'),
    )
    expect(await stateOf(alice)).toBe('offline')
    await alice.send('written while the server is down')
    await alice.until('cached while down', () =>
      document.querySelector('[data-testid=sync-progress]')?.textContent?.includes('1 cached'),
    )

    // Same port, same data folder: the pages were loaded from it and reconnect to it by themselves.
    const second = await startProcess(['--port', String(first.port), '--data', dataDir])
    running.push(second)
    await Promise.all([alice.connected(), bob.connected()])
    await bob.until('the message written while down', () =>
      document.body.textContent?.includes('written while the server is down'),
    )
    await alice.ownStatuses('read by bob')
    const expected = [
      'normal alice before the crash',
      'urgent alice urgent acked just before the crash',
      'normal alice written while the server is down',
    ]
    expect(await alice.shown()).toEqual(expected)
    expect(await bob.shown()).toEqual(expected)
    // A device that never saw any of it gets it all from the restarted server's storage.
    const carol = await ChatPage.open(await browser.newContext(), second.url, 'carol')
    await carol.until('all three', () => document.querySelectorAll('.message').length === 3)
    expect(await carol.shown()).toEqual(expected)
  }, 60_000)

  it('a busy port gets one line that names the port and how to pick another, not a stack trace', async () => {
    const holder: Server = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const port = (holder.address() as { port: number }).port
    const ownData = mkdtempSync(join(tmpdir(), 'tidings-attackweb-port-'))
    try {
      const { code, output } = await runToExit(['--port', String(port), '--data', ownData])
      expect(code).not.toBe(0)
      expect(output).toContain(String(port))
      expect(output).toMatch(/in use/i)
      expect(output).toContain('--port')
      expect(output).not.toMatch(/^\s+at /m)
    } finally {
      holder.close()
      rmSync(ownData, { recursive: true, force: true })
    }
  }, 40_000)

  it('a second npm start on a data folder in use gets one line saying so, not a stack trace', async () => {
    // Its own folder: the first test leaves its restarted server holding dataDir.
    const held = mkdtempSync(join(tmpdir(), 'tidings-attackweb-held-'))
    folders.push(held)
    const owner = await startProcess(['--port', '0', '--data', held])
    running.push(owner)
    const { code, output } = await runToExit(['--port', '0', '--data', held])
    expect(code).not.toBe(0)
    expect(output).toContain(held)
    expect(output).toMatch(/held by another|in use|already/i)
    expect(output).not.toMatch(/^\s+at /m)
  }, 40_000)
})
