// @vitest-environment happy-dom

import { memoryStorage } from '@tidings/core'
import { createServer, type TidingsServer } from '@tidings/server'
import { websocketTransport } from '@tidings/transport-websocket'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { demoAuthenticate } from '../../server/demo-auth.js'
import { linkControls, switchedLink } from '../src/link.js'

const servers: TidingsServer[] = []
const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
  await Promise.all(servers.splice(0).map((s) => s.close()))
  localStorage.clear()
})

const serve = async () => {
  const server = await createServer({
    port: 0,
    storage: memoryStorage(),
    authenticate: demoAuthenticate,
    onError: () => {},
  })
  servers.push(server)
  return server
}

/** The leading tab's link for `user`, on a real server, with a fast retry. */
const link = (url: string, user: string, token = `demo-${user}`) => {
  let note = (_: unknown) => {}
  const { transport, noteError } = switchedLink(
    websocketTransport({
      url,
      token,
      WebSocket: WebSocket as never,
      backoff: { base: 20, cap: 50 },
      onError: (error) => note(error),
    }),
    user,
  )
  note = noteError as typeof note
  closers.push(() => transport.close())
  return transport
}

const until = async (what: string, check: () => boolean) => {
  const deadline = Date.now() + 5000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within 5 s`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const session = { user: 'alice', device: 'dev0alice' as never }

describe('the offline switch and the link reason', () => {
  it('never connects while switched off, not even at start, and connects when switched back', async () => {
    const server = await serve()
    const controls = linkControls('alice')
    controls.offline.set(true)
    const transport = link(server.url, 'alice')
    transport.connect(session)
    expect(transport.state).toBe('offline')
    expect(controls.reason.get()).toBe('switched off')
    controls.offline.set(false)
    await until('online', () => transport.state === 'online')
    expect(controls.reason.get()).toBeUndefined()
    controls.offline.set(true)
    expect(transport.state).toBe('offline')
    expect(controls.reason.get()).toBe('switched off')
  })

  it('says the server is down when it goes away, and auth refused for a token it does not know', async () => {
    const server = await serve()
    const controls = linkControls('alice')
    const transport = link(server.url, 'alice')
    transport.connect(session)
    await until('online', () => transport.state === 'online')
    await server.close()
    await until('server down', () => controls.reason.get() === 'server down')

    const other = await serve()
    const mallory = linkControls('mallory')
    link(other.url, 'mallory').connect({ user: 'mallory', device: 'dev0mallory' as never })
    await until('auth refused', () => mallory.reason.get() === 'auth refused')
  })
})
