import {
  type ConnectionState,
  type Conversation,
  conversationId,
  createClient,
  DEFAULT_PERIOD_MS,
  type DeviceId,
  memoryStorage,
  periodOf,
} from '@tidings/core'
import { defaultRoomName, yWebsocketTransport } from '@tidings/transport-y-websocket'
import { afterEach, describe, expect, it } from 'vitest'
import WS from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { Doc, encodeStateAsUpdate, encodeStateVector } from 'yjs'
import { waitFor } from './helpers.js'
import { startYServer, type YServer, type YServerOptions } from './y-server.js'

process.setMaxListeners(0)
const session = { user: 'alice', device: 'alice0001' as DeviceId }
const room = conversationId('room')
const period = periodOf(Date.now(), DEFAULT_PERIOD_MS)
const cleanup: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const server = async (options: YServerOptions = {}): Promise<YServer> => {
  const s = await startYServer(undefined, options)
  cleanup.push(() => s.close())
  return s
}
const transport = (options: Partial<Parameters<typeof yWebsocketTransport>[0]> & { url: string }) => {
  const t = yWebsocketTransport({ WebSocket: WS, ...options })
  cleanup.push(() => t.close())
  const states: ConnectionState[] = []
  t.on('connection', (state) => void states.push(state))
  return Object.assign(t, { states })
}

describe('rooms', () => {
  it('opens a room per doc, named after it, in sync order: meta, current periods, held docs newest first', async () => {
    const s = await server()
    const opened: string[] = []
    class Recording extends WS {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols)
        opened.push(new URL(url).pathname.slice(1))
      }
    }
    const t = transport({ url: s.url, WebSocket: Recording })
    const held = ['normal/3', 'meta', 'urgent/1', 'normal/7']
    t.subscribe(room, async () => held.map((h) => ({ doc: `room/${h}`, stateVector: new Uint8Array([0]) })))
    t.connect(session)
    await waitFor(() => t.state === 'online', 'online')
    expect(opened).toEqual([
      'room/meta',
      `room/urgent/${period}`,
      'room/urgent/1',
      `room/control/${period}`,
      `room/high/${period}`,
      `room/normal/${period}`,
      'room/normal/7',
      'room/normal/3',
      `room/receipts/${period}`,
      `room/low/${period}`,
    ])
    expect(t.states).toEqual(['connecting', 'syncing', 'online'])
  })

  it('keeps names with . or .. segments in one path segment', () => {
    expect(defaultRoomName('room/normal/3')).toBe('room/normal/3')
    expect(defaultRoomName('../meta')).toBe('..%2Fmeta')
  })

  it('does not discover docs it neither holds nor follows (no manifest), unless told to follow them', async () => {
    const s = await server()
    const writer = transport({ url: s.url })
    const acked: string[] = []
    writer.on('ack', ({ keys }) => void acked.push(...keys))
    writer.subscribe(room, async () => [])
    writer.connect(session)
    await waitFor(() => writer.state === 'online', 'writer online')
    const doc = new Doc()
    doc.getMap('m').set('old', 1)
    writer.send({
      conversation: room,
      doc: 'room/normal/0',
      lane: 'normal',
      update: encodeStateAsUpdate(doc),
      key: 'k',
    })
    await waitFor(() => acked.length === 1, 'ack')
    const blind = transport({ url: s.url })
    const following = transport({ url: s.url, follow: () => ['room/normal/0'] })
    const seen = new Map<string, string[]>()
    for (const [name, t] of [
      ['blind', blind],
      ['following', following],
    ] as const) {
      seen.set(name, [])
      t.on('update', ({ doc }) => void seen.get(name)!.push(doc))
      t.subscribe(room, async () => [])
      t.connect({ user: 'bob', device: 'bob00002' as DeviceId })
    }
    await waitFor(() => blind.state === 'online' && following.state === 'online', 'both online')
    await waitFor(() => seen.get('following')!.includes('room/normal/0'), 'the followed doc')
    expect(seen.get('blind')).not.toContain('room/normal/0')
  })
})

describe('keepalive', () => {
  it('asks a silent room for news, so y-websocket never drops it as dead', async () => {
    const s = await server()
    const t = transport({ url: s.url, keepAlive: 40 })
    t.subscribe(room, async () => [])
    t.connect(session)
    await waitFor(() => t.state === 'online', 'online')
    await waitFor(() => (s.step1s.get('room/meta') ?? 0) >= 4, 'three keepalive step 1s')
    expect(t.states).toEqual(['connecting', 'syncing', 'online'])
  })
})

describe('acks', () => {
  it.each([0, 150])(
    'acks a key only once the server holds its update (applied after %i ms)',
    async (applyDelay) => {
      const s = await server({ applyDelay })
      const t = transport({ url: s.url })
      t.subscribe(room, async () => [])
      t.connect(session)
      await waitFor(() => t.state === 'online', 'online')
      const doc = new Doc()
      const name = `room/urgent/${period}`
      const applied: boolean[] = []
      t.on('ack', () => {
        const server = s.rooms.get(name)!
        applied.push(server.getMap('m').get('x') === 42)
      })
      doc.getMap('m').set('x', 42)
      t.send({ conversation: room, doc: name, lane: 'urgent', update: encodeStateAsUpdate(doc), key: 'x' })
      await waitFor(() => applied.length === 1, 'ack')
      expect(applied).toEqual([true])
    },
  )

  it('acks keys sent while a room was connecting once its content went up', async () => {
    const s = await server()
    const t = transport({ url: s.url })
    const acked: string[] = []
    t.on('ack', ({ keys }) => void acked.push(...keys))
    t.subscribe(room, async () => [])
    t.connect(session)
    await waitFor(() => t.state === 'online', 'online')
    // A doc with no room yet: the room opens now and the update goes up with its first sync.
    const doc = new Doc()
    doc.getMap('m').set('late', true)
    t.send({
      conversation: room,
      doc: 'room/low/0',
      lane: 'low',
      update: encodeStateAsUpdate(doc),
      key: 'late',
    })
    await waitFor(() => acked.includes('late'), 'ack')
    expect(s.rooms.get('room/low/0')!.getMap('m').get('late')).toBe(true)
  })
})

describe('with core clients', () => {
  const device = (url: string, user: string) => {
    const transport = yWebsocketTransport({ url, WebSocket: WS })
    const client = createClient({ user, storage: memoryStorage(), transport, receiptDelay: 0 })
    cleanup.push(() => client.close())
    return {
      client,
      offline: () => transport.disconnect(),
      online: () => transport.connect({ user, device: client.device! }),
    }
  }
  const ids = (c: Conversation) => c.messages().map((m) => m.id)

  it('converges through a stock y-websocket server, statuses reaching sent and read', async () => {
    const s = await server()
    const alice = device(s.url, 'alice')
    const bob = device(s.url, 'bob')
    const a = await alice.client.open('ops')
    const b = await bob.client.open('ops')
    await Promise.all([alice.client.whenSynced(), bob.client.whenSynced()])
    const hello = await a.send('hello', { priority: 'urgent' })
    await waitFor(() => b.messages().length === 1, 'bob has it')
    await alice.client.whenSynced()
    expect(a.status(hello.id)).not.toBe('pending')
    await b.markRead(hello.id)
    await waitFor(() => a.status(hello.id) === 'read', 'read')

    alice.offline()
    const late = await a.send('written offline')
    await b.send('meanwhile')
    alice.online()
    await alice.client.whenSynced()
    await waitFor(() => a.messages().length === 3 && b.messages().length === 3, 'three on both sides')
    expect(ids(a)).toEqual(ids(b))
    expect(a.status(late.id)).not.toBe('pending')
  })

  it('shares a lane doc with an unmodified y-websocket client', async () => {
    const s = await server()
    const alice = device(s.url, 'alice')
    const a = await alice.client.open('ops')
    const m = await a.send({ text: 'for the plain client' })
    await alice.client.whenSynced()
    const plain = new Doc()
    const provider = new WebsocketProvider(s.url, `ops/normal/${period}`, plain, {
      WebSocketPolyfill: WS as never,
      disableBc: true,
    })
    cleanup.push(() => provider.destroy())
    await waitFor(() => plain.getMap('m').has(m.id), 'the message in the plain doc')
    expect(plain.getMap('m').get(m.id)).toMatchObject({
      author: 'alice',
      body: { text: 'for the plain client' },
    })
    expect(encodeStateVector(plain).length).toBeGreaterThan(1)
  })
})
