import { memoryStorage } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { cli, linked, listening, metric, poll, startServer, tempDir } from './kit.js'

const get = async (port: number, path: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() }
}

describe('a server that reports', () => {
  it('GET /health and /metrics move with connections, refusals and commits; other paths 404', async () => {
    const server = await startServer()
    const health0 = JSON.parse((await get(server.port, '/health')).text)
    expect(health0).toMatchObject({ up: true, storageWritable: true, connections: 0 })
    expect(await metric(server, 'tidings_connections')).toBe(0)

    const alice = linked(server.url, 'alice', 't-alice')
    const convo = await alice.client.open('room')
    await convo.send({ text: 'hello' })
    await alice.client.whenSynced()
    expect(JSON.parse((await get(server.port, '/health')).text).connections).toBe(1)
    expect(await metric(server, 'tidings_connections')).toBe(1)
    expect(await metric(server, 'tidings_subscriptions')).toBe(1)
    expect(await metric(server, 'tidings_commit_seconds_count{outcome="ok"}')).toBeGreaterThan(0)
    expect(await metric(server, 'tidings_frames_in_total{type="update"}')).toBeGreaterThan(0)
    expect(await metric(server, 'tidings_docs_loaded')).toBeGreaterThan(0)
    expect(await metric(server, 'tidings_queued_bytes')).toBe(0)
    expect(await metric(server, 'tidings_event_loop_lag_seconds{stat="p99"}')).toBeGreaterThanOrEqual(0)

    const mallory = linked(server.url, 'mallory', 'wrong')
    mallory.client.whenSynced().catch(() => {})
    await poll(() => mallory.errors.length > 0)
    expect(await metric(server, 'tidings_refusals_total{code="auth/denied"}')).toBe(1)

    await alice.client.close()
    expect(await poll(async () => (await metric(server, 'tidings_connections')) === 0)).toBe(true)
    for (const path of ['/', '/nope', '/health/x', '/metrics.json']) {
      expect((await get(server.port, path)).status, path).toBe(404)
    }
    expect((await get(server.port, '/metrics')).type).toMatch(/text\/plain/)
  })

  it('tidings-server logs JSON at LOG_LEVEL, never a token or a body, and SIGTERM closes clients with 1001 keeping data', async () => {
    const data = tempDir()
    const TOKEN = 'tok-SECRET-4242'
    const BODY = 'body-PRIVATE-7777'
    const env = { TIDINGS_TOKENS: `${TOKEN}=alice`, LOG_LEVEL: 'debug' }
    const run = cli(['--port', '0', '--data', data], env)
    const { url } = await listening(run)

    const storage = memoryStorage()
    const alice = linked(url, 'alice', TOKEN, storage)
    const convo = await alice.client.open('room')
    await convo.send({ text: BODY })
    await alice.client.whenSynced()
    const bad = linked(url, 'alice', `${TOKEN}-x`)
    bad.client.whenSynced().catch(() => {})
    await poll(() => bad.errors.length > 0)

    // A raw socket sees the close code the client would reconnect on.
    const raw = new WebSocket(url)
    await new Promise((r) => raw.once('open', r))
    const closed = new Promise<number>((r) => raw.once('close', (code) => r(code)))
    run.child.kill('SIGTERM')
    expect(await closed).toBe(1001)
    expect(await run.exited).toBe(0)

    const lines = run.out().trim().split('\n')
    const logs = lines.map((l) => JSON.parse(l) as { msg: string; level: number })
    const msgs = logs.map((l) => l.msg)
    for (const msg of ['listening', 'connection opened', 'auth refused', 'shutting down', 'stopped']) {
      expect(msgs, msg).toContain(msg)
    }
    expect(run.out()).not.toContain(TOKEN)
    expect(run.out()).not.toContain(BODY)
    expect(run.err()).toBe('')

    // The data survived: a new process on the same folder serves alice's message to a fresh device.
    await alice.client.close()
    const second = await listening(cli(['--port', '0', '--data', data], env))
    const fresh = linked(second.url, 'alice', TOKEN)
    const reopened = await fresh.client.open('room')
    expect(
      await poll(() => reopened.messages().some((m) => (m.body as { text?: string }).text === BODY)),
    ).toBe(true)
  })

  it('--log-level warn drops info lines', async () => {
    const run = cli(['--port', '0', '--data', tempDir(), '--log-level', 'warn'], {
      TIDINGS_TOKENS: 'a=alice',
    })
    await poll(() => run.out().length > 0 || run.child.exitCode !== null, 1500)
    run.child.kill('SIGTERM')
    expect(await run.exited).toBe(0)
    expect(run.out()).not.toContain('"level":30')
  })
})
