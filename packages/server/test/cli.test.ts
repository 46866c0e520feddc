import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { parseCli, parseTokenFile, parseTokenList, tokenAuthenticate } from '../src/cli-config.js'
import { Device, laneDoc, TestClient } from './helpers.js'

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

  it('takes --postgres and --redis (or their environment), and refuses Redis without PostgreSQL', () => {
    const env = { TIDINGS_TOKENS: 'a=alice' }
    const pg = 'postgres://postgres@127.0.0.1:5432/test'
    const redis = 'redis://127.0.0.1:6379'
    expect(parseCli(['--postgres', pg, '--redis', redis], env)).toMatchObject({ postgres: pg, redis })
    expect(parseCli([], { ...env, TIDINGS_POSTGRES_URL: pg })).toMatchObject({ postgres: pg })
    expect(parseCli([], env)).not.toHaveProperty('postgres')
    expect(() => parseCli(['--redis', redis], env)).toThrow('--redis needs --postgres')
    expect(() => parseCli(['--postgres', 'mysql://x'], env)).toThrow('not a postgres:// URL')
    expect(() => parseCli(['--postgres', pg, '--redis', 'http://x'], env)).toThrow('not a redis:// URL')
  })

  it('takes the log level from --log-level, then LOG_LEVEL, default info', () => {
    const env = { TIDINGS_TOKENS: 'a=alice' }
    expect(parseCli([], env)).toMatchObject({ logLevel: 'info' })
    expect(parseCli([], { ...env, LOG_LEVEL: 'debug' })).toMatchObject({ logLevel: 'debug' })
    expect(parseCli(['--log-level', 'warn'], { ...env, LOG_LEVEL: 'debug' })).toMatchObject({
      logLevel: 'warn',
    })
    expect(() => parseCli(['--log-level', 'loud'], env)).toThrow(/not one of/)
  })

  it('runs as a command: logs, and on SIGTERM closes clients with 1001 and keeps what it committed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidings-cli-'))
    try {
      const tokens = join(dir, 'tokens.json')
      writeFileSync(tokens, JSON.stringify({ 'tok-7c1e': 'alice' }))
      const doc = laneDoc('room')
      const first = await startCli(['--data', dir, '--tokens', tokens])
      const client = await TestClient.connect(first.url, 'tok-7c1e', 'alicedev1')
      expect(client.user).toBe('alice')
      await client.subscribe('room')
      const device = new Device('alice', 'alicedev1')
      expect(await client.update('room/meta', device.register('room'))).toBe('ack')
      const message = device.message(doc, 'kept across a SIGTERM')
      expect(await client.update(doc, message.update)).toBe('ack')
      expect(await first.stop()).toBe(0)
      expect((await client.closed).code).toBe(1001)
      const logs = first.logs()
      expect(logs).toContainEqual(expect.objectContaining({ msg: 'listening', level: 30 }))
      expect(logs).toContainEqual(expect.objectContaining({ msg: 'connection opened', user: 'alice' }))
      expect(logs).toContainEqual(expect.objectContaining({ msg: 'connection closed', code: 1001 }))
      expect(JSON.stringify(logs)).not.toContain('tok-7c1e')

      const second = await startCli(['--data', dir, '--tokens', tokens])
      const again = await TestClient.connect(second.url, 'tok-7c1e', 'alicedev1')
      await again.subscribe('room')
      const replica = new Y.Doc()
      await again.syncStep1(doc, replica)
      expect(replica.getMap('m').get(message.id)).toMatchObject({ body: 'kept across a SIGTERM' })
      expect(await second.stop()).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

/** Runs the CLI in a child process on port 0; resolves once it logged the URL it listens on. */
const startCli = async (args: string[], env: Record<string, string> = {}) => {
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))
  const root = fileURLToPath(new URL('../../..', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', cli, '--port', '0', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const url = await new Promise<string>((resolve, reject) => {
    const look = () => {
      const match = /"url":"(ws:\/\/[^"]+)"/.exec(out)
      if (match) resolve(match[1]!)
    }
    child.stdout.on('data', look)
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk))
    exited.then((code) => reject(new Error(`exited with ${code}: ${out}`)))
  })
  return {
    url,
    logs: () =>
      out
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    stop: () => {
      child.kill('SIGTERM')
      return exited
    },
  }
}
