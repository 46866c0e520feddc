import { encodeFrame } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import { startServer, TestClient } from './helpers.js'

describe('auth', () => {
  it('welcomes a valid first auth frame with the user and the server time', async () => {
    const server = await startServer({ now: () => 5000 })
    const client = await TestClient.open(server.url)
    client.send({ type: 'auth', token: 't-alice', device: 'alicedev1' })
    expect(await client.next((f) => f.type === 'welcome')).toEqual({
      type: 'welcome',
      user: 'alice',
      serverTime: 5000,
    })
  })

  it('refuses a bad token with auth/denied and closes 4401', async () => {
    const server = await startServer()
    const client = await TestClient.open(server.url)
    client.send({ type: 'auth', token: 'nobody', device: 'alicedev1' })
    expect(await client.closed).toMatchObject({ code: 4401 })
    expect(client.errors()).toMatchObject([{ code: 'auth/denied' }])
  })

  it('refuses a device id that is not one, and an authenticate that throws', async () => {
    const server = await startServer({
      authenticate: (token) => {
        if (token === 'boom') throw new Error('auth backend down')
        return { userId: 'alice', canWrite: true }
      },
    })
    const badDevice = await TestClient.open(server.url)
    badDevice.send({ type: 'auth', token: 't-alice', device: 'Not A Device' })
    expect(await badDevice.closed).toMatchObject({ code: 4401 })
    const throwing = await TestClient.open(server.url)
    throwing.send({ type: 'auth', token: 'boom', device: 'alicedev1' })
    expect(await throwing.closed).toMatchObject({ code: 4401 })
  })

  it('closes 4401 when the first frame is not auth, 4400 when it is unreadable', async () => {
    const server = await startServer()
    const early = await TestClient.open(server.url)
    early.send({ type: 'subscribe', conversation: 'room', version: 0 })
    expect(await early.closed).toMatchObject({ code: 4401 })
    const garbage = await TestClient.open(server.url)
    garbage.ws.send(new Uint8Array([200, 1, 2, 3]))
    expect(await garbage.closed).toMatchObject({ code: 4400 })
    expect(garbage.errors()).toMatchObject([{ code: 'protocol/malformed' }])
  })

  it('holds frames pipelined behind auth until it succeeds, then handles them in order', async () => {
    let resolveAuth: () => void = () => {}
    let asked: () => void = () => {}
    const authAsked = new Promise<void>((resolve) => {
      asked = resolve
    })
    const server = await startServer({
      authenticate: () =>
        new Promise((resolve) => {
          resolveAuth = () => resolve({ userId: 'alice', canWrite: true })
          asked()
        }),
    })
    const client = await TestClient.open(server.url)
    client.send({ type: 'auth', token: 't-alice', device: 'alicedev1' })
    client.send({ type: 'ping', time: 1 })
    client.send({ type: 'ping', time: 2 })
    await authAsked
    expect(client.frames).toEqual([])
    resolveAuth()
    await client.next((f) => f.type === 'pong' && f.time === 2)
    expect(client.frames.map((f) => (f.type === 'pong' ? f.time : f.type))).toEqual(['welcome', 1, 2])
  })

  it('drops frames pipelined behind an auth it refuses', async () => {
    const server = await startServer()
    const client = await TestClient.open(server.url)
    client.send({ type: 'auth', token: 'nobody', device: 'alicedev1' })
    client.send({ type: 'subscribe', conversation: 'room', version: 0 })
    client.send({ type: 'ping', time: 1 })
    expect(await client.closed).toMatchObject({ code: 4401 })
    expect(client.frames.map((f) => f.type)).toEqual(['error'])
  })

  it('stops reading past the unauthenticated byte budget while auth is pending, and goes on after', async () => {
    let resolveAuth: () => void = () => {}
    let asked: () => void = () => {}
    const authAsked = new Promise<void>((resolve) => {
      asked = resolve
    })
    const server = await startServer({
      authenticate: () =>
        new Promise((resolve) => {
          resolveAuth = () => resolve({ userId: 'alice', canWrite: true })
          asked()
        }),
    })
    const client = await TestClient.open(server.url)
    client.send({ type: 'auth', token: 't-alice', device: 'alicedev1' })
    // 160 frames of ~510 bytes: past the 64 KiB a connection may send before its auth succeeds.
    for (let i = 0; i < 160; i++)
      client.send({ type: 'unsubscribe', conversation: `c${i}${'x'.repeat(500)}` })
    client.send({ type: 'ping', time: 7 })
    await authAsked
    resolveAuth()
    expect(await client.next((f) => f.type === 'pong')).toMatchObject({ time: 7 })
    expect(client.frames[0]).toMatchObject({ type: 'welcome' })
  })

  it('closes 4408 when the first frame exceeds the unauthenticated byte budget', async () => {
    const server = await startServer()
    const client = await TestClient.open(server.url)
    client.ws.send(encodeFrame({ type: 'auth', token: 'x'.repeat(65 * 1024), device: 'alicedev1' }))
    expect(await client.closed).toMatchObject({ code: 4408 })
  })

  it('closes 4408 when no auth frame arrives in time', async () => {
    const server = await startServer({ limits: { authTimeoutMs: 50 } })
    const client = await TestClient.open(server.url)
    expect(await client.closed).toMatchObject({ code: 4408 })
  })

  it('never lets one connection’s failure touch another', async () => {
    const server = await startServer()
    const good = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    const bad = await TestClient.open(server.url)
    bad.ws.send(new Uint8Array([0]))
    await bad.closed
    await good.ping()
  })
})
