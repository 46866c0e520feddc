import { memoryStorage, type OutboxEntry, type StorageAdapter } from '@tidings/core'
import { decodeFrame, encodeFrame, type Frame } from '@tidings/protocol'
import { type AuthResult, createServer, type Limits, type TidingsServer } from '@tidings/server'
import { afterEach } from 'vitest'
import WebSocket from 'ws'
import { body, device, waitFor } from '../e2e/helpers.js'

const servers: TidingsServer[] = []
const sockets: WebSocket[] = []
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate()
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

/** How the test's `authenticate` answers: by token, optionally after `gate` resolves. */
export interface AuthPolicy {
  /** Tokens refused for the connection (`authenticate(token, null)` → null). */
  readonly revoked: Set<string>
  /** Tokens whose `authenticate(token, null)` throws. */
  readonly throwing: Set<string>
  /** `token → conversation` pairs refused at subscribe. */
  readonly refusedRooms: Set<string>
  /** While set, every connection-level `authenticate` waits for it. */
  gate?: Promise<void> | undefined
}

export const policy = (): AuthPolicy => ({ revoked: new Set(), throwing: new Set(), refusedRooms: new Set() })

/** A server on 127.0.0.1 with its own memory storage; token `t-<user>` is `<user>` unless `auth` says otherwise. */
export const startServer = async (auth: AuthPolicy, limits: Partial<Limits> = {}) => {
  const storage: StorageAdapter = memoryStorage()
  const server = await createServer({
    port: 0,
    host: '127.0.0.1',
    storage,
    limits,
    onError: () => undefined,
    authenticate: async (token, conversation): Promise<AuthResult | null> => {
      if (conversation === null && auth.gate) await auth.gate
      if (!token.startsWith('t-')) return null
      if (conversation === null && auth.throwing.has(token)) throw new Error('identity provider down')
      if (conversation === null && auth.revoked.has(token)) return null
      if (conversation !== null && auth.refusedRooms.has(`${token} ${conversation}`)) return null
      return { userId: token.slice(2), canWrite: true }
    },
  })
  servers.push(server)
  return { server, storage }
}

/** A socket that records every frame and its close code; nothing is awaited but `open`. */
export const rawSocket = async (url: string) => {
  const ws = new WebSocket(url)
  sockets.push(ws)
  const frames: Frame[] = []
  const closed: { code?: number } = {}
  ws.binaryType = 'nodebuffer'
  ws.on('message', (data: Buffer) => frames.push(decodeFrame(new Uint8Array(data))))
  ws.on('close', (code) => {
    closed.code = code
  })
  ws.on('error', () => undefined)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return { ws, frames, closed, send: (frame: Frame) => ws.send(encodeFrame(frame)) }
}

/**
 * Alice, a member whose device the server knows: she synced `room` once, then wrote `texts` offline
 * (urgent). Returns her device id, the messages and the outbox entries that carry them, in order.
 */
export const aliceOfflineMessages = async (url: string, room: string, texts: readonly string[]) => {
  const alice = device(url, 'alice')
  await alice.client.open(room)
  await alice.client.whenSynced()
  alice.offline()
  const convo = await alice.client.open(room)
  const messages = []
  for (const text of texts) messages.push(await convo.send(body(text), { priority: 'urgent' }))
  const outbox = await alice.storage.outbox()
  const entries = messages.map((m) => outbox.find((e) => e.messages.includes(m.id)) as OutboxEntry)
  await alice.close()
  return { deviceId: alice.client.device as string, messages, entries }
}

/** One offline message of Alice's: see `aliceOfflineMessages`. */
export const aliceOfflineMessage = async (url: string, room: string, text: string) => {
  const { deviceId, messages, entries } = await aliceOfflineMessages(url, room, [text])
  return { deviceId, message: messages[0]!, entry: entries[0]! }
}

/** A fresh device of `user` that opens `room` and syncs: what the server holds, through the public API. */
export const roomSeenBy = async (url: string, user: string, room: string) => {
  const d = device(url, user)
  const convo = await d.client.open(room)
  await d.client.whenSynced()
  return convo
}

export { body, device, waitFor }
