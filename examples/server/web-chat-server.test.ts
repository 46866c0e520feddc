import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseStartArgs } from './config.js'
import { demoAuthenticate } from './demo-auth.js'
import { startWebChat, type WebChatServer } from './web-chat-server.js'

describe('npm start options', () => {
  it('reads flags before the environment before the defaults', () => {
    expect(parseStartArgs([], {})).toEqual({
      port: 8080,
      host: '127.0.0.1',
      dataDir: './data',
      logLevel: 'info',
    })
    expect(parseStartArgs([], { PORT: '9000', HOST: '0.0.0.0', TIDINGS_DATA: '/srv/t' })).toEqual({
      port: 9000,
      host: '0.0.0.0',
      dataDir: '/srv/t',
      logLevel: 'info',
    })
    expect(parseStartArgs(['--log-level', 'warn'], { LOG_LEVEL: 'debug' })).toMatchObject({
      logLevel: 'warn',
    })
    expect(parseStartArgs([], { LOG_LEVEL: 'debug' })).toMatchObject({ logLevel: 'debug' })
    expect(() => parseStartArgs(['--log-level', 'loud'], {})).toThrow(/not one of/)
    expect(
      parseStartArgs(['--port', '9001', '--data', 'here'], { PORT: '9000', TIDINGS_DATA: '/srv/t' }),
    ).toEqual({
      port: 9001,
      host: '127.0.0.1',
      dataDir: 'here',
      logLevel: 'info',
    })
    expect(parseStartArgs(['--help'], {})).toBe('help')
    expect(() => parseStartArgs(['--port', 'eighty'], {})).toThrow(/not a port/)
    expect(() => parseStartArgs(['--bogus'], {})).toThrow()
  })

  it('knows the demo tokens and nothing else', () => {
    expect(demoAuthenticate('demo-bob', null, { plainDoc: false } as never)).toEqual({
      userId: 'bob',
      canWrite: true,
    })
    expect(demoAuthenticate('demo-mallory', null, { plainDoc: false } as never)).toBeNull()
    expect(demoAuthenticate('toString', null, { plainDoc: false } as never)).toBeNull()
  })
})

describe('the server npm start runs', () => {
  let chat: WebChatServer
  let dataDir: string
  let webRoot: string
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tidings-start-'))
    // A stand-in build: the browser test builds the real one, and two builds at once would race.
    webRoot = join(dataDir, 'web')
    mkdirSync(join(webRoot, 'assets'), { recursive: true })
    writeFileSync(join(webRoot, 'index.html'), '<script type="module" src="/assets/app-1234.js"></script>')
    writeFileSync(join(webRoot, 'assets/app-1234.js'), 'console.log(1)')
    writeFileSync(join(dataDir, 'secret.txt'), 'not for the web')
    chat = await startWebChat({ port: 0, host: '127.0.0.1', dataDir }, { webRoot })
  }, 60_000)
  afterAll(async () => {
    await chat?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('serves the app at / and its assets, and nothing outside its folder', async () => {
    const page = await fetch(`${chat.httpUrl}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    const html = await page.text()
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1]
    expect(script).toBeDefined()
    const asset = await fetch(`${chat.httpUrl}${script}`)
    expect(asset.status).toBe(200)
    expect(asset.headers.get('content-type')).toContain('javascript')
    expect((await fetch(`${chat.httpUrl}/nope.js`)).status).toBe(404)
    expect((await fetch(`${chat.httpUrl}/..%2fsecret.txt`)).status).toBe(404)
    expect((await fetch(`${chat.httpUrl}/`, { method: 'POST' })).status).toBe(405)
    expect(chat.wsUrl).toBe(`ws://localhost:${chat.server.port}/`)
  })
})
