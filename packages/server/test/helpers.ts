import { type Conversation, memoryStorage, type StorageAdapter } from '@tidings/core'
import { decodeFrame, encodeFrame, type Frame, type FrameOf } from '@tidings/protocol'
import { afterEach, expect } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { type Authenticate, createServer, type ServerOptions, type TidingsServer } from '../src/index.js'

/** Users of the tests: `reader` may not write; only alice and bob may open `secret`; `admin` is one. */
export const USERS: Record<string, { userId: string; canWrite: boolean; canAdmin?: boolean }> = {
  't-admin': { userId: 'admin', canWrite: true, canAdmin: true },
  't-alice': { userId: 'alice', canWrite: true },
  't-bob': { userId: 'bob', canWrite: true },
  't-mallory': { userId: 'mallory', canWrite: true },
  't-reader': { userId: 'reader', canWrite: false },
}

export const authenticate: Authenticate = (token, conversation) => {
  const user = USERS[token]
  if (!user) return null
  if (conversation === 'secret' && user.userId !== 'alice' && user.userId !== 'bob') return null
  return user
}

const servers: TidingsServer[] = []
const sockets: WebSocket[] = []

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate()
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

/**
 * A server on 127.0.0.1, port 0, closed after the test. Memory storage unless `storage` is given;
 * with `dataDir` and no storage, the default SQLite storage.
 */
export const startServer = async (
  options: Partial<ServerOptions> = {},
): Promise<TidingsServer & { storage: StorageAdapter }> => {
  const storage = options.storage ?? (options.dataDir ? undefined : memoryStorage())
  const server = await createServer({
    port: 0,
    authenticate,
    onError: () => {},
    ...options,
    ...(storage ? { storage } : {}),
  })
  servers.push(server)
  return Object.assign(server, { storage: storage as StorageAdapter })
}

type Waiter = { match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }

/** A raw Tidings protocol client: every frame it receives is kept in `frames`. */
export class TestClient {
  readonly frames: Frame[] = []
  readonly #waiters = new Set<Waiter>()
  readonly closed: Promise<{ code: number; reason: string }>
  user = ''

  constructor(readonly ws: WebSocket) {
    sockets.push(ws)
    ws.binaryType = 'nodebuffer'
    ws.on('message', (data: Buffer) => {
      const frame = decodeFrame(new Uint8Array(data))
      this.frames.push(frame)
      for (const waiter of [...this.#waiters]) {
        if (waiter.match(frame)) {
          this.#waiters.delete(waiter)
          waiter.resolve(frame)
        }
      }
    })
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    )
  }

  /** Opens a socket without authenticating. */
  static async open(url: string): Promise<TestClient> {
    const ws = new WebSocket(url)
    const client = new TestClient(ws)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    return client
  }

  /** Opens, authenticates, and waits for `welcome`. */
  static async connect(url: string, token: string, device: string): Promise<TestClient> {
    const client = await TestClient.open(url)
    client.send({ type: 'auth', token, device })
    const welcome = (await client.next((f) => f.type === 'welcome')) as FrameOf<'welcome'>
    client.user = welcome.user
    return client
  }

  send(frame: Frame): void {
    this.ws.send(encodeFrame(frame))
  }

  /** The first frame, received already or later, that matches. */
  next(match: (frame: Frame) => boolean, from = 0): Promise<Frame> {
    const found = this.frames.slice(from).find(match)
    if (found) return Promise.resolve(found)
    return new Promise((resolve) => this.#waiters.add({ match, resolve }))
  }

  /** A frame that arrives from now on. */
  later(match: (frame: Frame) => boolean): Promise<Frame> {
    return this.next(match, this.frames.length)
  }

  async subscribe(conversation: string, version = 0): Promise<FrameOf<'manifest'>> {
    const pending = this.later((f) => f.type === 'manifest' || (f.type === 'error' && f.doc === conversation))
    this.send({ type: 'subscribe', conversation, version })
    const frame = await pending
    if (frame.type === 'error') throw new Error(`${frame.code}: ${frame.reason}`)
    return frame as FrameOf<'manifest'>
  }

  /** Round trip: resolves once every frame sent before it was handled. */
  async ping(): Promise<void> {
    const time = Math.random()
    const pong = this.later((f) => f.type === 'pong' && f.time === time)
    this.send({ type: 'ping', time })
    await pong
  }

  /** Sends an update with a ref; resolves with the ack or error that names it. */
  async update(doc: string, update: Uint8Array, ref = nextRef()): Promise<'ack' | FrameOf<'error'>> {
    const answer = this.later(
      (f) => (f.type === 'ack' && f.refs.includes(ref)) || (f.type === 'error' && f.ref === ref),
    )
    this.send({ type: 'update', doc, ref, update })
    const frame = await answer
    return frame.type === 'ack' ? 'ack' : (frame as FrameOf<'error'>)
  }

  /** Step 1 for a doc; applies the server's step 2 to `ydoc` and returns the server's own step 1. */
  /** Sends a step 1 (`forwarded`: this client took the doc's forwards); returns the server's state vector. */
  async syncStep1(doc: string, ydoc: Y.Doc, forwarded = false): Promise<Uint8Array> {
    const step2 = this.later((f) => f.type === 'sync-step2' && f.doc === doc)
    const step1 = this.later((f) => f.type === 'sync-step1' && f.doc === doc)
    this.send({
      type: 'sync-step1',
      doc,
      stateVector: Y.encodeStateVector(ydoc),
      ...(forwarded ? { forwarded } : {}),
    })
    Y.applyUpdate(ydoc, ((await step2) as FrameOf<'sync-step2'>).update)
    return ((await step1) as FrameOf<'sync-step1'>).stateVector
  }

  errors(): FrameOf<'error'>[] {
    return this.frames.filter((f): f is FrameOf<'error'> => f.type === 'error')
  }

  updatesFor(doc: string): FrameOf<'update'>[] {
    return this.frames.filter((f): f is FrameOf<'update'> => f.type === 'update' && f.doc === doc)
  }
}

let refs = 1
export const nextRef = (): number => refs++

/** A device writing like core does: one Y.Doc per doc name, updates captured per change. */
export class Device {
  readonly docs = new Map<string, Y.Doc>()
  seq = 0

  constructor(
    readonly user: string,
    readonly id: string,
  ) {}

  doc(name: string): Y.Doc {
    let doc = this.docs.get(name)
    if (!doc) {
      doc = new Y.Doc()
      this.docs.set(name, doc)
    }
    return doc
  }

  /** Runs a change on a doc and returns its update, as core captures them (one transaction's). */
  change(name: string, fn: (doc: Y.Doc) => void): Uint8Array {
    const doc = this.doc(name)
    let update: Uint8Array = new Uint8Array([0, 0])
    const capture = (u: Uint8Array) => {
      update = u
    }
    doc.on('update', capture)
    doc.transact(() => fn(doc))
    doc.off('update', capture)
    return update
  }

  /** The same device with fresh docs: for attempts after a refusal left a doc diverged. */
  fresh(): Device {
    const device = new Device(this.user, this.id)
    device.seq = this.seq + 100
    return device
  }

  /** A message record keyed `<device>.<seq>` in a lane doc's `m` map. */
  message(
    name: string,
    body: unknown,
    overrides: Record<string, unknown> = {},
  ): { id: string; update: Uint8Array } {
    const id = `${this.id}.${++this.seq}`
    const priority = name.split('/')[1]
    const record = {
      author: this.user,
      device: this.id,
      stamp: { wall: Date.now(), counter: 0 },
      body,
      priority,
      ...overrides,
    }
    return { id, update: this.change(name, (d) => d.getMap('m').set(id, record)) }
  }

  /** Registers the device in meta as core does. */
  register(conversation: string): Uint8Array {
    return this.change(`${conversation}/meta`, (d) => d.getMap('devices').set(this.id, this.user))
  }
}

/** The lane doc of the current period (default 7-day periods). */
export const laneDoc = (conversation: string, lane = 'normal', wall = Date.now()): string =>
  `${conversation}/${lane}/${Math.floor(wall / (7 * 24 * 60 * 60 * 1000))}`

/** Everything storage holds for a conversation: doc names with their row bytes. */
export const dumpStorage = async (storage: StorageAdapter, conversation: string): Promise<string> => {
  const out: string[] = []
  for (const info of await storage.listDocs(conversation)) {
    const rows = await storage.load(info.doc)
    out.push(`${info.doc}:${rows.map((r) => Buffer.from(r.update).toString('base64')).join(',')}`)
  }
  return out.join('\n')
}

/** The content of a doc as the server stores it. */
export const storedDoc = async (storage: StorageAdapter, name: string): Promise<Y.Doc> => {
  const doc = new Y.Doc()
  for (const row of await storage.load(name)) Y.applyUpdate(doc, row.update)
  return doc
}

/**
 * Sends an update that must be refused with `code`, and checks that nothing changed: storage holds
 * the same rows and `observer` received no update or manifest for it.
 */
export const expectRefused = async (
  server: { idle(): Promise<void>; storage: StorageAdapter },
  conversation: string,
  from: TestClient,
  observer: TestClient,
  doc: string,
  update: Uint8Array,
  code: string,
): Promise<FrameOf<'error'>> => {
  await server.idle()
  await observer.ping()
  const before = await dumpStorage(server.storage, conversation)
  const seen = observer.frames.length
  const answer = await from.update(doc, update)
  if (answer === 'ack') throw new Error(`expected ${code}, got an ack`)
  if (answer.code !== code) throw new Error(`expected ${code}, got ${answer.code}: ${answer.reason}`)
  await server.idle()
  await observer.ping()
  if ((await dumpStorage(server.storage, conversation)) !== before) throw new Error('storage changed')
  const relayed = observer.frames.slice(seen).filter((f) => f.type === 'update' || f.type === 'manifest')
  if (relayed.length > 0) throw new Error(`relayed ${relayed.length} frames`)
  return answer
}

/** A member of `conversation`: connected, subscribed, and its device registered in meta. */
export const member = async (url: string, token: string, user: string, id: string, conversation = 'room') => {
  const client = await TestClient.connect(url, token, id)
  await client.subscribe(conversation)
  const device = new Device(user, id)
  expect(await client.update(`${conversation}/meta`, device.register(conversation))).toBe('ack')
  return { client, device }
}

/** An answer as `'ack'` or its refusal code. */
export const refusalCode = (answer: 'ack' | FrameOf<'error'>): string =>
  answer === 'ack' ? 'ack' : answer.code

/** Resolves once `check` holds for the conversation. */
export const until = (conversation: Conversation, check: () => boolean): Promise<void> =>
  new Promise((resolve) => {
    if (check()) return resolve()
    const stop = conversation.subscribe(() => {
      if (!check()) return
      stop()
      resolve()
    })
  })
