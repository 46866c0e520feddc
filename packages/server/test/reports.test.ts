import { Writable } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { laneDoc, startServer, TestClient } from './helpers.js'

const httpUrl = (wsUrl: string, path: string) => `${wsUrl.replace(/^ws/, 'http')}${path}`

const getJson = async (url: string) => {
  const response = await fetch(url)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

/** The value of one sample line of the Prometheus text, e.g. `tidings_connections`. */
const sample = (text: string, name: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

/** A pino destination that keeps every line, parsed. */
const captureLogs = () => {
  const lines: Record<string, unknown>[] = []
  let raw = ''
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw += chunk.toString()
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line))
      done()
    },
  })
  return { logger: pino({ level: 'info' }, stream), lines, raw: () => raw }
}

/** Polls until `check` passes, with a deadline: log lines and closes arrive asynchronously. */
const eventually = async <T>(check: () => T | undefined | Promise<T | undefined>, ms = 2000): Promise<T> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('GET /health and GET /metrics', () => {
  it('report connections, frames and refusals as they happen, per server', async () => {
    const server = await startServer()
    const other = await startServer()
    const health = await getJson(httpUrl(server.url, '/health'))
    expect(health).toEqual({
      status: 200,
      body: { up: true, storageWritable: true, docsLoaded: 0, connections: 0 },
    })
    const before = await (await fetch(httpUrl(server.url, '/metrics'))).text()
    expect(sample(before, 'tidings_connections')).toBe(0)
    expect(before).not.toContain('tidings_refusals_total{')

    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await alice.subscribe('room')
    // Not subscribed to `elsewhere`: refused with permission/denied.
    expect(await alice.update(laneDoc('elsewhere'), new Uint8Array([0, 0]))).toMatchObject({
      code: 'permission/denied',
    })
    expect((await getJson(httpUrl(server.url, '/health'))).body).toMatchObject({ connections: 1 })

    const response = await fetch(httpUrl(server.url, '/metrics'))
    expect(response.headers.get('content-type')).toContain('text/plain')
    const after = await response.text()
    expect(sample(after, 'tidings_connections')).toBe(1)
    expect(sample(after, 'tidings_subscriptions')).toBe(1)
    expect(sample(after, 'tidings_docs_loaded')).toBeGreaterThan(0)
    expect(sample(after, 'tidings_refusals_total{code="permission/denied"}')).toBe(1)
    expect(sample(after, 'tidings_frames_in_total{type="auth"}')).toBe(1)
    expect(sample(after, 'tidings_frames_in_total{type="subscribe"}')).toBe(1)
    expect(sample(after, 'tidings_frames_out_total{type="welcome"}')).toBe(1)
    expect(sample(after, 'tidings_frames_out_total{type="error"}')).toBe(1)
    expect(after).toContain('# TYPE tidings_commit_seconds histogram')
    expect(after).toContain('tidings_event_loop_lag_seconds{stat="p99"}')
    expect(sample(after, 'tidings_queued_bytes')).toBeGreaterThanOrEqual(0)

    // A second server in the same process counts only its own.
    const theirs = await (await fetch(httpUrl(other.url, '/metrics'))).text()
    expect(sample(theirs, 'tidings_connections')).toBe(0)
    expect(theirs).not.toContain('tidings_refusals_total{')

    alice.ws.close()
    await eventually(async () => {
      const { body } = await getJson(httpUrl(server.url, '/health'))
      return body.connections === 0 ? body : undefined
    })
  })

  it("are answered before the app's handler, which still gets every other path", async () => {
    const seen: string[] = []
    const server = await startServer({
      request: (request, response) => {
        seen.push(request.url ?? '')
        response.end('app')
      },
    })
    expect((await getJson(httpUrl(server.url, '/health'))).status).toBe(200)
    expect((await fetch(httpUrl(server.url, '/metrics'))).status).toBe(200)
    expect(await (await fetch(httpUrl(server.url, '/other'))).text()).toBe('app')
    expect(seen).toEqual(['/other'])
  })

  it('answers 503 with up false while shutting down', async () => {
    const server = await startServer()
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    // The client never answers the close frame, so close() waits its grace and /health is asked meanwhile.
    alice.ws.pause()
    const closing = server.close()
    const { status, body } = await getJson(httpUrl(server.url, '/health'))
    expect(status).toBe(503)
    expect(body).toMatchObject({ up: false })
    await closing
  })
})

describe('structured logs', () => {
  it('log connections and auth refusals, never the token', async () => {
    const logs = captureLogs()
    const server = await startServer({ logger: logs.logger })
    expect(logs.lines).toContainEqual(expect.objectContaining({ msg: 'listening', port: server.port }))

    const stranger = await TestClient.open(server.url)
    stranger.send({ type: 'auth', token: 'not-a-token-4f9a', device: 'strange1' })
    expect((await stranger.closed).code).toBe(4401)
    const refused = await eventually(() => logs.lines.find((l) => l.msg === 'auth refused'))
    expect(refused).toMatchObject({ level: 40, remote: '127.0.0.1', device: 'strange1' })

    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ msg: 'connection opened', user: 'alice', device: 'alicedev1' }),
    )
    alice.ws.close(1000)
    const closed = await eventually(() =>
      logs.lines.find((l) => l.msg === 'connection closed' && l.user === 'alice'),
    )
    expect(closed).toMatchObject({ code: 1000, remote: '127.0.0.1' })
    expect(logs.raw()).not.toContain('not-a-token-4f9a')
    expect(logs.raw()).not.toContain('t-alice')
  })

  it('are silent by default', async () => {
    // No logger and no level: pino at `silent`, so nothing reaches stdout in tests or apps.
    const { serverLogger } = await import('../src/logs.js')
    expect(serverLogger(undefined, undefined).level).toBe('silent')
    expect(serverLogger(undefined, 'debug').level).toBe('debug')
  })
})
