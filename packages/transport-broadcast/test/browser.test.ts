import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  chromiumInstalled,
  skipWithoutChromium,
} from '../../../test/support/chromium.js'

const packages = fileURLToPath(new URL('../../', import.meta.url))
const skip = skipWithoutChromium('browser.test.ts')

/** Bundles the page script, resolving the Tidings packages to their sources. */
const bundle = async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./browser/page.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
    plugins: [
      {
        name: 'tidings-sources',
        setup(b) {
          b.onResolve({ filter: /^@tidings\/[a-z0-9-]+$/ }, ({ path }) => ({
            path: join(packages, path.slice('@tidings/'.length), 'src/index.ts'),
          }))
        },
      },
    ],
  })
  return result.outputFiles[0]!.text
}

const serve = (script: string): Promise<Server> =>
  new Promise((resolve) => {
    const server = createServer((req, res) => {
      if (req.url === '/page.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' })
        res.end(script)
      } else {
        res.writeHead(200, { 'content-type': 'text/html' })
        res.end('<!doctype html><script type="module" src="/page.js"></script>')
      }
    })
    server.listen(0, '127.0.0.1', () => resolve(server))
  })

type Row = [id: string, text: string, device: string]
const WAIT = { timeout: 10_000 }

describe.skipIf(skip)('tabs in Chromium', () => {
  let server: Server
  let url: string
  let browser: Browser

  beforeAll(async () => {
    if (!chromiumInstalled)
      throw new Error(`CI is set but ${CHROMIUM} is missing: .ci/run should install chromium.`)
    server = await serve(await bundle())
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  })
  afterAll(async () => {
    await browser?.close()
    if (server) await new Promise((resolve) => server.close(resolve))
  })

  const failures: string[] = []
  const open = async (context: Awaited<ReturnType<Browser['newContext']>>) => {
    const page = await context.newPage()
    page.on('pageerror', (error) => failures.push(error.message))
    await page.goto(url)
    await page.waitForFunction(() => window.failure !== undefined || window.tab !== undefined, null, WAIT)
    expect(await page.evaluate(() => window.failure)).toBeUndefined()
    return page
  }
  /** Waits until the tab's follower client is online with the leader that `lead` runs. */
  const attached = (page: Page, leaderId: string) =>
    page.waitForFunction(
      (id) => window.tab!.leaderId() === id && window.tab!.state() === 'online',
      leaderId,
      WAIT,
    )
  const leads = async (page: Page) => {
    await page.waitForFunction(() => window.tab!.serverId() !== undefined, null, WAIT)
    return (await page.evaluate(() => window.tab!.serverId()))!
  }
  const texts = (page: Page) => page.evaluate(() => window.tab!.view().map((r) => r[1]))
  const shows = (page: Page, expected: string[]) =>
    page.waitForFunction(
      (want) => JSON.stringify(window.tab!.view().map((r) => r[1])) === JSON.stringify(want),
      expected,
      WAIT,
    )

  it('one tab leads with the Web Lock, the others write through it, and the next takes over', async () => {
    const started = Date.now()
    // One context: one origin's storage partition, so the pages share Web Locks, channels and IndexedDB.
    const context = await browser.newContext()
    const one = await open(context)
    const first = await leads(one)
    const two = await open(context)
    const three = await open(context)
    await Promise.all([attached(one, first), attached(two, first), attached(three, first)])
    expect(await two.evaluate(() => window.tab!.isLeader())).toBe(false)

    await two.evaluate(() => window.tab!.send('from tab two'))
    for (const page of [one, two, three]) await shows(page, ['from tab two'])
    const stored = (await one.evaluate(() => window.tab!.leaderView())) as Row[]
    expect(stored.map((r) => r[1])).toEqual(['from tab two'])

    // Tab one closes: its lock goes, tab two (first in the queue) leads, tab three re-attaches.
    await one.close()
    const second = await leads(two)
    expect(second).not.toBe(first)
    await Promise.all([attached(two, second), attached(three, second)])
    expect(await three.evaluate(() => window.tab!.isLeader())).toBe(false)

    await two.evaluate(() => window.tab!.send('after the takeover'))
    await three.evaluate(() => window.tab!.send('from tab three'))
    const all = ['from tab two', 'after the takeover', 'from tab three']
    for (const page of [two, three]) await shows(page, all)
    const reread = (await two.evaluate(() => window.tab!.leaderView())) as Row[]
    expect(reread.map((r) => r[1])).toEqual(all)
    // The new leader read the device id back from IndexedDB: every message has the same one.
    expect(new Set(reread.map((r) => r[2])).size).toBe(1)
    expect(reread[0]).toEqual(stored[0])
    expect(await texts(three)).toEqual(all)
    expect(failures).toEqual([])
    await context.close()
    console.info(`browser tabs test: ${Date.now() - started} ms`)
  })
})
