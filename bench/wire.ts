import { createClient, memoryStorage, type StorageAdapter } from '@tidings/core'
import { createServer } from '@tidings/server'
import { chatText, faultyProxy } from '@tidings/testing'
import { websocketTransport } from '@tidings/transport-websocket'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { ONE_PERIOD_MS } from './engines.js'
import { log, messageText } from './workload.js'

/** Bytes one full sync put on the socket, both ways, from the TCP connect to `whenSynced()`. */
export interface SyncBytes {
  readonly down: number
  readonly up: number
  /** Wall ms from `open()` to `whenSynced()` on localhost: mostly CPU of server and client. */
  readonly ms: number
  /** CPU ms of this process (server and client share it) over the same span. */
  readonly cpuMs: number
}

/** What one wire repetition measured: Tidings with and without deflate, and the peers' encodings. */
export interface WireRep {
  readonly plain: SyncBytes
  readonly deflate: SyncBytes
  /** JSON of the messages the new device received (`[{ id, ...record }]`). */
  readonly json: number
  /** Stock Yjs `encodeStateAsUpdate` (v1) and `encodeStateAsUpdateV2` of a doc with the same map. */
  readonly yjsV1: number
  readonly yjsV2: number
}

const CONVERSATION = 'bench-wire'
const authenticate = (token: string) => ({ userId: token, canWrite: true })

const serve = (storage: StorageAdapter, perMessageDeflate: boolean) =>
  createServer({
    port: 0,
    host: '127.0.0.1',
    storage,
    authenticate,
    perMessageDeflate,
    onError: (error) => log(String(error)),
  })

const device = (port: number, user: string) =>
  createClient({
    user,
    storage: memoryStorage(),
    transport: websocketTransport({ url: `ws://127.0.0.1:${port}`, token: user, WebSocket }),
    periodMs: ONE_PERIOD_MS,
  })

/** Resolves once `convo.pending()` is empty: the server stored every message. */
const drained = (convo: { pending(): readonly unknown[]; subscribe(fn: () => void): () => void }) =>
  new Promise<void>((resolve) => {
    const check = () => {
      if (convo.pending().length > 0) return
      stop()
      resolve()
    }
    const stop = convo.subscribe(check)
    check()
  })

/** Which message texts a run sends: the bench's (`message number <i>`) or chat-like ones. */
export type Texts = 'bench' | 'chat'

const textsOf = (texts: Texts): ((i: number) => string) => {
  if (texts === 'bench') return messageText
  const next = chatText(12)
  return () => next()
}

/** One device of alice sends `count` messages through a server into `storage` and waits for every ack. */
const fill = async (storage: StorageAdapter, count: number, texts: Texts) => {
  const text = textsOf(texts)
  const server = await serve(storage, false)
  const writer = device(server.port, 'alice')
  const convo = await writer.open(CONVERSATION)
  for (let i = 1; i <= count; i++) await convo.send({ text: text(i) })
  await drained(convo)
  await writer.close()
  await server.close()
}

/**
 * A new device of bob opens the conversation through a counting TCP proxy to a fresh server on the
 * same storage and waits for `whenSynced()`; returns the bytes and the lane doc's messages.
 */
const syncOnce = async (storage: StorageAdapter, count: number, perMessageDeflate: boolean) => {
  const server = await serve(storage, perMessageDeflate)
  const proxy = await faultyProxy({ target: { host: '127.0.0.1', port: server.port } })
  const reader = device(proxy.port, 'bob')
  try {
    const start = performance.now()
    const cpu = process.cpuUsage()
    const convo = await reader.open(CONVERSATION)
    await reader.whenSynced()
    const used = process.cpuUsage(cpu)
    const bytes = {
      down: proxy.bytes.down,
      up: proxy.bytes.up,
      ms: performance.now() - start,
      cpuMs: (used.user + used.system) / 1000,
    }
    const got = convo.messages().length
    if (got !== count) throw new Error(`the new device shows ${got} of ${count} messages after whenSynced()`)
    return bytes
  } finally {
    await reader.close()
    await proxy.close()
    await server.close()
  }
}

/** The lane doc as the server stores it, merged: the same map for the Yjs and JSON peers. */
const peers = async (storage: StorageAdapter) => {
  const lane = (await storage.listDocs(CONVERSATION)).find((d) => d.doc.includes('/normal/'))
  if (!lane) throw new Error('the server stored no lane doc')
  const doc = new Y.Doc()
  for (const row of await storage.load(lane.doc)) Y.applyUpdate(doc, row.update)
  const records = doc.getMap<Record<string, unknown>>('m').toJSON() as Record<string, Record<string, unknown>>
  const json = Buffer.byteLength(JSON.stringify(Object.entries(records).map(([id, r]) => ({ id, ...r }))))
  const sizes = {
    json,
    yjsV1: Y.encodeStateAsUpdate(doc).length,
    yjsV2: Y.encodeStateAsUpdateV2(doc).length,
  }
  doc.destroy()
  return sizes
}

/** One repetition: fill a server's storage, then a full sync with and without permessage-deflate. */
export const wireRep = async (count: number, texts: Texts): Promise<WireRep> => {
  const storage = memoryStorage()
  await fill(storage, count, texts)
  // A warm-up sync loads the server's code paths and the stored doc into the OS cache alike.
  await syncOnce(storage, count, false)
  const plain = await syncOnce(storage, count, false)
  const deflate = await syncOnce(storage, count, true)
  return { plain, deflate, ...(await peers(storage)) }
}
