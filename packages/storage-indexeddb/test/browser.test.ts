import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  chromiumInstalled,
  skipWithoutChromium,
} from '../../../test/support/chromium.js'
import { bundlePage, servePage } from '../../../test/support/page-bundle.js'

const skip = skipWithoutChromium('browser.test.ts')

/** Pids of the processes running on a profile: the browser's own command line names it. */
const processesOf = (profile: string) =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`--user-data-dir=${profile}`)
      } catch {
        return false // exited meanwhile
      }
    })
    .map(Number)

/** SIGKILLs the browser and every process of its profile, like a crash or an OOM kill. */
const killBrowser = async (context: BrowserContext, profile: string) => {
  const closed = new Promise((resolve) => context.once('close', resolve))
  const pids = processesOf(profile)
  expect(pids.length, 'browser processes found').toBeGreaterThan(0)
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone already: children die with the browser
    }
  }
  await closed
}

describe.skipIf(skip)('indexeddbStorage in Chromium', () => {
  let server: Server
  let url: string
  let profile: string

  beforeAll(async () => {
    if (!chromiumInstalled)
      throw new Error(`CI is set but ${CHROMIUM} is missing: .ci/run should install chromium.`)
    const served = await servePage(
      await bundlePage(fileURLToPath(new URL('./browser/page.ts', import.meta.url))),
    )
    server = served
    url = served.url
    profile = mkdtempSync(join(tmpdir(), 'tidings-chromium-'))
  })
  afterAll(async () => {
    if (server) await new Promise((resolve) => server.close(resolve))
    if (profile) rmSync(profile, { recursive: true, force: true })
  })

  const launch = () =>
    chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    })

  /** Writes in the browser until `atLeast` sends resolved, reads the acked ids, then kills it. */
  const writeThenKill = async (run: string, atLeast: number) => {
    const context = await launch()
    const page = context.pages()[0] ?? (await context.newPage())
    await page.goto(`${url}?mode=write&run=${run}`)
    await page.waitForFunction((n) => window.failure !== undefined || window.acked.length >= n, atLeast, {
      timeout: 15_000,
    })
    const acked = await page.evaluate(() => window.acked.slice())
    expect(await page.evaluate(() => window.failure)).toBeUndefined()
    await killBrowser(context, profile)
    return acked
  }

  it('keeps every message whose send() resolved across SIGKILLs of the browser', async () => {
    const acked = [...(await writeThenKill('first', 150)), ...(await writeThenKill('second', 150))]

    const context = await launch()
    const page = context.pages()[0] ?? (await context.newPage())
    await page.goto(`${url}?mode=verify`)
    await page.waitForFunction(
      () => window.failure !== undefined || window.secondAdapter !== undefined,
      null,
      {
        timeout: 15_000,
      },
    )
    expect(await page.evaluate(() => window.failure)).toBeUndefined()
    const stored = (await page.evaluate(() => window.stored))!
    expect(await page.evaluate(() => window.secondAdapter)).toBe('storage/locked')
    await context.close()

    const tags = new Map<string, string[]>()
    for (const [id, tag] of stored) tags.set(id, [...(tags.get(id) ?? []), tag])
    const lost = acked.filter(([id]) => !tags.has(id))
    const duplicated = acked.filter(([id]) => (tags.get(id)?.length ?? 0) > 1)
    // A seq reused after the crash would show the second run's body under a first-run id.
    const replaced = acked.filter(([id, tag]) => tags.has(id) && tags.get(id)![0] !== tag)
    console.info(
      `browser kill test: ${acked.length} acked, ${stored.length} stored, ${lost.length} lost, ` +
        `${duplicated.length} duplicated, ${replaced.length} replaced`,
    )
    expect({ lost, duplicated, replaced }).toEqual({ lost: [], duplicated: [], replaced: [] })
    expect(new Set(stored.map(([id]) => id)).size).toBe(stored.length)
  })
})
