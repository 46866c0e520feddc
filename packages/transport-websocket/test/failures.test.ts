import { createServer as listen } from 'node:net'
import { createClient, type DeviceId, type LinkStatus, memoryStorage, type TidingsError } from '@tidings/core'
import { createServer } from '@tidings/server'
import { type WebsocketTransportOptions, websocketTransport } from '@tidings/transport-websocket'
import { afterEach, describe, expect, it } from 'vitest'
import WS from 'ws'
import { fakeOnline, manualTimers, waitFor } from './helpers.js'
import { startStub } from './stub-server.js'

const session = { user: 'alice', device: 'alice0001' as DeviceId }
const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** A transport that records its errors, link statuses and attempts; closed after the test. */
const transport = (options: Partial<WebsocketTransportOptions> & { url: string }) => {
  const errors: TidingsError[] = []
  const statuses: LinkStatus[] = []
  const t = websocketTransport({
    token: 't-alice',
    WebSocket: WS,
    backoff: { base: 20, cap: 40 },
    ...options,
  })
  t.on('error', (e) => void errors.push(e))
  t.on('link-status', (s) => void statuses.push(s))
  cleanup.push(() => t.close())
  const attempts = () => statuses.filter((s) => s.state === 'connecting').length
  return Object.assign(t, { errors, statuses, attempts })
}

const realServer = async () => {
  const server = await createServer({
    port: 0,
    host: '127.0.0.1',
    storage: memoryStorage(),
    authenticate: (token) => (token === 't-alice' ? { userId: 'alice', canWrite: true } : null),
  })
  cleanup.push(() => server.close())
  return server
}

/** A port nothing listens on: taken from the OS, then released. */
const deadPort = async (): Promise<number> => {
  const server = listen()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('a refused token', () => {
  it('stops retrying when the token is a string, with reason auth/denied', async () => {
    const server = await realServer()
    const clock = manualTimers()
    const t = transport({ url: server.url, token: 'wrong', timers: clock.timers, random: () => 0.5 })
    t.connect(session)
    await waitFor(() => t.linkStatus.reason === 'auth/denied', 'auth/denied')
    expect(t.linkStatus).toEqual({ state: 'offline', reason: 'auth/denied' })
    expect(t.errors.map((e) => e.code)).toEqual(['auth/denied'])
    // No retry was scheduled: only the dead link's heartbeat timers ever were.
    expect(clock.pending((ms) => ms <= 40)).toEqual([])
    expect(t.attempts()).toBe(1)
  })

  it('asks a token function again and retries with backoff until it is accepted', async () => {
    const server = await realServer()
    const tokens = ['wrong', 'stale', 't-alice']
    let asked = 0
    const t = transport({ url: server.url, token: () => tokens[asked++]! })
    t.connect(session)
    await waitFor(() => t.state === 'online', 'online')
    expect(asked).toBe(3)
    const waits = t.statuses.filter((s) => s.state === 'offline')
    expect(waits.map((s) => s.reason)).toEqual(['auth/denied', 'auth/denied'])
    for (const wait of waits) expect(wait.retryInMs).toBeGreaterThanOrEqual(0)
    // One failure, refused twice: reported once.
    expect(t.errors.map((e) => e.code)).toEqual(['auth/denied'])
    expect(t.linkStatus).toEqual({ state: 'online' })
  })
})

describe('a server that cannot be used', () => {
  it('reports an unreachable server once and keeps retrying with a backoff wait', async () => {
    const url = `ws://127.0.0.1:${await deadPort()}/`
    const t = transport({ url, random: () => 0.5 })
    t.connect(session)
    await waitFor(() => t.attempts() >= 3, 'three attempts')
    const offline = t.statuses.find((s) => s.state === 'offline')
    expect(offline).toEqual({ state: 'offline', reason: 'network/unreachable', retryInMs: 10 })
    expect(t.statuses.filter((s) => s.state === 'connecting').slice(1)[0]?.reason).toBe('network/unreachable')
    expect(t.errors.map((e) => e.code)).toEqual(['network/unreachable'])
    expect(t.errors[0]!.message).toContain('ECONNREFUSED')
  })

  it('names a wrong path when the upgrade is answered with 404', async () => {
    const server = await realServer()
    const t = transport({ url: `${server.url}/chat` })
    t.connect(session)
    await waitFor(() => t.attempts() >= 2, 'a second attempt')
    expect(t.errors.map((e) => e.code)).toEqual(['network/bad-path'])
    expect(t.errors[0]!.message).toContain('404')
    expect(t.statuses.find((s) => s.state === 'offline')?.reason).toBe('network/bad-path')
  })

  it('names a TLS mismatch for wss:// to a plain server', async () => {
    const stub = await startStub()
    cleanup.push(() => stub.close())
    const t = transport({ url: stub.url.replace('ws://', 'wss://') })
    t.connect(session)
    await waitFor(() => t.attempts() >= 2, 'a second attempt')
    expect(t.errors.map((e) => e.code)).toEqual(['network/tls'])
    expect(t.statuses.find((s) => s.state === 'offline')?.reason).toBe('network/tls')
  })

  it('hints at wss:// when the server hangs up before answering, as a TLS server does to ws://', async () => {
    const server = listen((socket) => socket.once('data', () => socket.destroy()))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanup.push(() => new Promise((resolve) => server.close(() => resolve())))
    const t = transport({ url: `ws://127.0.0.1:${(server.address() as { port: number }).port}/` })
    t.connect(session)
    await waitFor(() => t.errors.length === 1, 'the failure')
    expect(t.errors[0]!.code).toBe('network/unreachable')
    expect(t.errors[0]!.message).toContain('use wss://')
  })

  it('reports a lost link again after the server had welcomed it', async () => {
    const stub = await startStub()
    cleanup.push(() => stub.close())
    const t = transport({ url: stub.url })
    t.connect(session)
    await waitFor(() => t.state === 'online', 'online')
    for (const conn of stub.connections) conn.socket.close(1001, 'going away')
    await waitFor(() => t.errors.length === 1, 'the loss')
    expect(t.errors[0]!.code).toBe('network/lost')
    expect(t.errors[0]!.message).toContain('going away')
    await waitFor(() => t.state === 'online', 'online again')
    expect(t.linkStatus).toEqual({ state: 'online' })
  })
})

describe('offline on purpose', () => {
  it('says offline/switch after disconnect and offline/platform when the network goes', async () => {
    const stub = await startStub()
    cleanup.push(() => stub.close())
    const online = fakeOnline()
    const t = transport({ url: stub.url, online: online.source })
    t.connect(session)
    await waitFor(() => t.state === 'online', 'online')
    online.goOffline()
    expect(t.linkStatus.state).toBe('offline')
    expect(t.linkStatus.reason).toBe('offline/platform')
    online.comeBack()
    await waitFor(() => t.state === 'online', 'online again')
    t.disconnect()
    expect(t.linkStatus).toEqual({ state: 'offline', reason: 'offline/switch' })
    t.connect(session)
    expect(t.linkStatus).toEqual({ state: 'connecting' })
    // Neither is a failure.
    expect(t.errors).toEqual([])
  })
})

describe('a client over a failing link', () => {
  it('gets each kind of failure once on error, and link tells subscribers why', async () => {
    const url = `ws://127.0.0.1:${await deadPort()}/`
    const t = websocketTransport({ url, token: 't-alice', WebSocket: WS, backoff: { base: 10, cap: 20 } })
    const client = createClient({ user: 'alice', storage: memoryStorage(), transport: t })
    cleanup.push(() => client.close())
    const errors: string[] = []
    client.on('error', (e) => void errors.push(e.code))
    const seen: LinkStatus[] = []
    client.subscribe(() => {
      if (seen.at(-1) !== client.link) seen.push(client.link)
    })
    expect(client.link).toEqual({ state: 'offline' })
    await client.open('room')
    await waitFor(() => seen.filter((s) => s.state === 'connecting').length >= 3, 'three attempts')
    expect(errors).toEqual(['network/unreachable'])
    expect(client.connection).toBe(client.link.state)
    const waiting = seen.find((s) => s.state === 'offline')
    expect(waiting?.reason).toBe('network/unreachable')
    expect(waiting?.retryInMs).toBeGreaterThanOrEqual(0)
  })
})
