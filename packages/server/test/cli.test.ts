import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseCli, parseTokenFile, parseTokenList, tokenAuthenticate } from '../src/cli-config.js'
import { TestClient } from './helpers.js'

describe('tidings-server options', () => {
  it('reads tokens from TIDINGS_TOKENS and from a token file', () => {
    expect(parseTokenList('a=alice, b=bob:ro, c=carol:admin')).toEqual(
      new Map([
        ['a', { userId: 'alice', canWrite: true }],
        ['b', { userId: 'bob', canWrite: false }],
        ['c', { userId: 'carol', canWrite: true, canAdmin: true }],
      ]),
    )
    expect(() => parseTokenList('nouser=')).toThrow()
    const file = parseTokenFile(
      '{"t1":"alice","t2":{"user":"bob","canWrite":false,"conversations":["ops"]},"t3":{"user":"carol","canAdmin":true}}',
    )
    const auth = tokenAuthenticate(file)
    expect(auth('t1', 'anything', {})).toEqual({ userId: 'alice', canWrite: true, canAdmin: false })
    expect(auth('t2', 'ops', {})).toEqual({ userId: 'bob', canWrite: false, canAdmin: false })
    expect(auth('t2', 'elsewhere', {})).toBeNull()
    expect(auth('t2', null, {})).toEqual({ userId: 'bob', canWrite: false, canAdmin: false })
    expect(auth('t3', 'ops', {})).toEqual({ userId: 'carol', canWrite: true, canAdmin: true })
    expect(auth('nope', null, {})).toBeNull()
  })

  it('parses flags with defaults, and refuses to start without tokens', () => {
    expect(parseCli(['--port', '0', '--data', '/tmp/x'], { TIDINGS_TOKENS: 'a=alice' })).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      dataDir: '/tmp/x',
    })
    expect(parseCli([], { TIDINGS_TOKENS: 'a=alice' })).toMatchObject({ port: 8080, dataDir: './data' })
    expect(parseCli(['--help'], {})).toBe('help')
    expect(() => parseCli([], {})).toThrow('no tokens')
    expect(() => parseCli(['--port', 'x'], { TIDINGS_TOKENS: 'a=alice' })).toThrow()
    expect(() => parseCli(['--bogus'], { TIDINGS_TOKENS: 'a=alice' })).toThrow()
  })

  it('runs as a command: listens, authenticates with the token file, stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidings-cli-'))
    try {
      const tokens = join(dir, 'tokens.json')
      writeFileSync(tokens, JSON.stringify({ secret: 'alice' }))
      const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))
      const root = fileURLToPath(new URL('../../..', import.meta.url))
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', cli, '--port', '0', '--data', dir, '--tokens', tokens],
        {
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      const url = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString()
          const match = /listening on (ws:\/\/\S+)/.exec(out)
          if (match) resolve(match[1]!)
        })
        child.once('exit', (code) => reject(new Error(`exited with ${code}`)))
      })
      const client = await TestClient.connect(url, 'secret', 'alicedev1')
      expect(client.user).toBe('alice')
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
      expect((await client.closed).code).toBe(1001)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
