import { type Conversation, memoryStorage } from '@tidings/core'
import { createServer, type Limits, type TidingsServer } from '@tidings/server'
import { afterEach } from 'vitest'
import { device } from '../e2e/helpers.js'
import { type RawPeer, rawPeer } from './raw.js'

const servers: TidingsServer[] = []
const peers: RawPeer[] = []
afterEach(async () => {
  for (const peer of peers.splice(0)) peer.close()
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

/** Token `t-<user>` is `<user>`; nobody but alice and bob may open the conversation `secret`. */
export const startServer = async (limits: Partial<Limits> = {}) => {
  const server = await createServer({
    port: 0,
    host: '127.0.0.1',
    storage: memoryStorage(),
    limits,
    onError: () => undefined,
    authenticate: (token, conversation) => {
      if (!token.startsWith('t-')) return null
      const user = token.slice(2)
      if (conversation === 'secret' && user !== 'alice' && user !== 'bob') return null
      return { userId: user, canWrite: true }
    },
  })
  servers.push(server)
  return server
}

/** A raw protocol connection for `user`, closed after the test. */
export const raw = async (url: string, user: string, dev = `${user}dev0`) => {
  const peer = await rawPeer(url, `t-${user}`, dev)
  peers.push(peer)
  return peer
}

/** `user:device` of each listed peer, `+` when typing, `*` for self. */
export const who = (c: Conversation) =>
  c.presence().map((p) => `${p.user}:${p.device}${p.typing ? '+' : ''}${p.self ? '*' : ''}`)

export { device }
