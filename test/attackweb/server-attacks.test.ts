import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWebChat, type WebChatServer } from '../../examples/server/web-chat-server.js'
import { rawPeer } from '../attack10/raw.js'

/** GETs `path` exactly as written: fetch() would normalise the dot segments away. */
const rawGet = (port: number, path: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => (body += chunk.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })

describe('the server npm start runs, attacked from outside', () => {
  let chat: WebChatServer
  let dataDir: string
  const errors: unknown[] = []
  const consoleError = console.error

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tidings-attackweb-static-'))
    // A stand-in build, as in examples/server/web-chat-server.test.ts: no Vite run needed.
    const webRoot = join(dataDir, 'web')
    mkdirSync(join(webRoot, 'assets'), { recursive: true })
    writeFileSync(join(webRoot, 'index.html'), '<p>chat</p>')
    writeFileSync(join(webRoot, 'assets/app.js'), 'console.log(1)')
    writeFileSync(join(dataDir, 'secret.txt'), 'not for the web')
    // What the server logs for a request, to tell a handled request from a thrown one.
    console.error = (...args: unknown[]) => errors.push(args)
    chat = await startWebChat({ port: 0, host: '127.0.0.1', dataDir }, { webRoot })
  })

  afterAll(async () => {
    console.error = consoleError
    await chat?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('no spelling of a dot-dot path reaches a file outside the web folder', async () => {
    const port = chat.server.port
    const tries = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/.%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/%252e%252e/secret.txt',
      '/..%5csecret.txt',
      '/..\\secret.txt',
      '//secret.txt',
      `/${encodeURIComponent(join(dataDir, 'secret.txt'))}`,
    ]
    for (const path of tries) {
      const { status, body } = await rawGet(port, path)
      // `//secret.txt` parses as a host-relative URL and gets the page: harmless, so only a leak or
      // a server error counts here.
      expect({ path, leaked: body.includes('not for the web'), failed: status >= 500 }).toEqual({
        path,
        leaked: false,
        failed: false,
      })
    }
  })

  it('a NUL byte in the path is refused as a bad request, not a 500 with a stack trace in the log', async () => {
    errors.length = 0
    for (const path of ['/%00', '/index.html%00.png']) {
      const { status } = await rawGet(chat.server.port, path)
      expect({ path, refused: status === 400 || status === 404 }).toEqual({ path, refused: true })
    }
    expect(errors).toEqual([])
    expect((await rawGet(chat.server.port, '/')).status).toBe(200)
  })

  it('a forged or twisted token over a raw WebSocket is refused with 4401', async () => {
    for (const token of [
      'demo-mallory',
      'demo-',
      'demo-bob ',
      'DEMO-bob',
      'demo-<img src=x>',
      'bob',
      'toString',
    ]) {
      await expect(rawPeer(chat.wsUrl, token, 'attackdev1'), token).rejects.toThrow(/close 4401/)
    }
    const bob = await rawPeer(chat.wsUrl, 'demo-bob', 'attackdev2')
    expect(bob.user).toBe('bob')
    bob.close()
  })
})
