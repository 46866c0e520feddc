import { createClient, memoryStorage } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import { linked, metric, poll, quiet, startServer } from './kit.js'

const codes = (errors: { code: string }[]) => errors.map((e) => e.code)

describe('a newcomer: link failures explain themselves', () => {
  it('a wrong token is auth/denied, reported once, and the transport stops retrying', async () => {
    const server = await startServer()
    const { client, errors } = linked(server.url, 'alice', 'nope')
    client.whenSynced().catch(() => {}) // rejects with client/closed at cleanup
    expect(await poll(() => client.link.reason === 'auth/denied')).toBe(true)
    await quiet(1200) // several backoff periods at the default base of 250 ms
    expect(codes(errors)).toEqual(['auth/denied'])
    expect(client.link).toEqual({ state: 'offline', reason: 'auth/denied' })
    expect(await metric(server, 'tidings_frames_in_total{type="auth"}')).toBe(1)
  })

  it('a wrong URL path is network/bad-path, reported once over several retries', async () => {
    const server = await startServer()
    const { client, errors } = linked(`${server.url}/chat`, 'alice', 't-alice')
    let attempts = 0
    client.subscribe(() => {
      if (client.link.state === 'connecting' && client.link.reason) attempts++
    })
    client.whenSynced().catch(() => {}) // rejects with client/closed at cleanup
    expect(await poll(() => attempts >= 3, 4000)).toBe(true)
    expect(codes(errors)).toEqual(['network/bad-path'])
    expect(errors[0]?.message).toMatch(/path/)
  })

  it('a server that is down is network/unreachable, reported once over several retries', async () => {
    const server = await startServer()
    const url = server.url
    await server.close()
    const { client, errors } = linked(url, 'alice', 't-alice')
    let attempts = 0
    client.subscribe(() => {
      if (client.link.state === 'connecting' && client.link.reason) attempts++
    })
    client.whenSynced().catch(() => {}) // rejects with client/closed at cleanup
    expect(await poll(() => attempts >= 3, 4000)).toBe(true)
    expect(codes(errors)).toEqual(['network/unreachable'])
    expect(client.link.reason).toBe('network/unreachable')
  })

  it('wss:// to a plain server is network/tls, as the guide documents', async () => {
    const server = await startServer()
    const { client, errors } = linked(server.url.replace('ws://', 'wss://'), 'alice', 't-alice')
    client.whenSynced().catch(() => {}) // rejects with client/closed at cleanup
    expect(await poll(() => errors.length > 0)).toBe(true)
    // guide.md "When the link fails": network/tls covers "`wss://` to a plain server".
    expect(codes(errors)).toEqual(['network/tls'])
    expect(client.link.reason).toBe('network/tls')
  })

  it("a client of alice given bob's token gets one error naming the mismatch, not an online link", async () => {
    const server = await startServer()
    const { client, errors } = linked(server.url, 'alice', 't-bob')
    const convo = await client.open('room')
    await convo.send({ text: 'hello' })
    await poll(() => errors.length > 0 || client.link.state === 'online')
    await quiet(300)
    // Today: the link goes online, whenSynced() resolves, the message stays pending forever, and the
    // app gets two permission/denied refusals about a "devices entry" and a message "naming another device".
    expect(errors.length, codes(errors).join()).toBe(1)
    expect(errors[0]?.message).toMatch(/alice/)
    expect(errors[0]?.message).toMatch(/bob/)
    expect(client.link.state).not.toBe('online')
  })

  it("alice's storage connecting with bob's token says what to do, not that the token was refused", async () => {
    const server = await startServer()
    const storage = memoryStorage()
    const first = linked(server.url, 'alice', 't-alice', storage)
    await first.client.whenSynced() // registers alice's device on the server
    await first.client.close()
    const { client, errors } = linked(server.url, 'alice', 't-bob', storage.reopen())
    client.whenSynced().catch(() => {}) // rejects with client/closed at cleanup
    expect(await poll(() => errors.length > 0)).toBe(true)
    expect(codes(errors)).toEqual(['auth/denied'])
    // Today: "The server refused the token (device … belongs to another user)." The token is valid:
    // the device (this storage) is alice's. The sentence should say so and what to do.
    expect(errors[0]?.message).not.toMatch(/refused the token/)
    expect(errors[0]?.message).toMatch(/storage/i)
  })

  it('whenSynced() before any open() starts the client and resolves once online', async () => {
    const server = await startServer()
    const { client, errors } = linked(server.url, 'alice', 't-alice')
    await client.whenSynced()
    expect(client.connection).toBe('online')
    expect(errors).toEqual([])
    const alone = createClient({ user: 'alice', storage: memoryStorage() })
    await alone.whenSynced() // no transport: at once
    await alone.close()
  })
})
