import { writeFileSync } from 'node:fs'
import { createServer as listenTcp } from 'node:net'
import { join } from 'node:path'
import { memoryStorage } from '@tidings/core'
import { createServer } from '@tidings/server'
import { describe, expect, it } from 'vitest'
import { cli, startServer, tempDir } from './kit.js'

const TOKENS = { TIDINGS_TOKENS: 's3cret-a=alice' }
/** A raw stack frame, as `at fn (file:line:col)`. */
const STACK = /\n\s+at /

const busyPort = async (): Promise<{ port: number; close: () => Promise<void> }> => {
  const blocker = listenTcp()
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
  const port = (blocker.address() as { port: number }).port
  return { port, close: () => new Promise((r) => blocker.close(() => r())) }
}

describe('tidings-server from the command line', () => {
  it('--help lists every documented flag and exits 0', async () => {
    const run = cli(['--help'])
    expect(await run.exited).toBe(0)
    for (const flag of ['--port', '--host', '--data', '--tokens', '--retention-days', '--log-level']) {
      expect(run.out() + run.err()).toContain(flag)
    }
  })

  it('a port in use is one sentence that says what to do, without a stack', async () => {
    const busy = await busyPort()
    const run = cli(['--port', String(busy.port), '--data', tempDir()], TOKENS)
    const code = await run.exited
    await busy.close()
    expect(code).not.toBe(0)
    const said = run.err() + run.out()
    expect(said).toMatch(new RegExp(`${busy.port}`))
    expect(said).toMatch(/--port/) // what to do: another port
    expect(said, said).not.toMatch(STACK)
  })

  it('a data folder that cannot be created is one sentence that says what to do, without a stack', async () => {
    const dir = tempDir()
    const file = join(dir, 'not-a-folder')
    writeFileSync(file, 'x') // a file where the folder should be: mkdir fails even for root
    const run = cli(['--port', '0', '--data', join(file, 'data')], TOKENS)
    expect(await run.exited).not.toBe(0)
    const said = run.err() + run.out()
    expect(said).toMatch(/--data/)
    expect(said, said).not.toMatch(STACK)
  })

  it('no tokens at all is refused with what to pass', async () => {
    const run = cli(['--port', '0', '--data', tempDir()], { TIDINGS_TOKENS: '' })
    expect(await run.exited).toBe(2)
    expect(run.err()).toMatch(/TIDINGS_TOKENS/)
    expect(run.err()).not.toMatch(STACK)
  })
})

describe('createServer() on a busy port', () => {
  it('rejects with a TidingsError whose message names the port and the way out', async () => {
    const first = await startServer()
    const error = await createServer({
      port: first.port,
      storage: memoryStorage(),
      authenticate: () => null,
    }).then(
      (server) => server.close().then(() => undefined),
      (e: unknown) => e,
    )
    expect(error).toBeDefined()
    // Today: the raw `listen EADDRINUSE` Error from node:net, with no code a caller can test.
    expect((error as { code?: string }).code).toMatch(/\//)
    expect((error as Error).message).toContain(String(first.port))
    expect((error as Error).message).toMatch(/port 0|another port|in use/)
  })
})
