import { conversationId, type DeviceId, type ErrorCode, type Lane, SYNC_ORDER } from '@tidings/core'
import { type FrameOf, MAX_FRAME_BYTES } from '@tidings/protocol'
import { INITIAL_WINDOW_BYTES, websocketTransport } from '@tidings/transport-websocket'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import WS from 'ws'
import { applyUpdate, Doc } from 'yjs'
import { fakeSockets } from './fake-socket.js'
import { manualTimers, waitFor, yUpdate } from './helpers.js'
import { type StubOptions, startStub } from './stub-server.js'

const session = { user: 'alice', device: 'alice0001' as DeviceId }
const room = conversationId('room')
const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** A transport online with the stub, subscribed to `room`, collecting acks and refusals. */
const online = async (options: StubOptions = {}, WebSocket: typeof WS = WS) => {
  const stub = await startStub(options)
  cleanup.push(() => stub.close())
  const t = websocketTransport({ url: stub.url, token: 't', WebSocket })
  cleanup.push(() => t.close())
  const acked: string[] = []
  const refused: { key: string; code: ErrorCode }[] = []
  t.on('ack', ({ keys }) => void acked.push(...keys))
  t.on('refused', ({ key, code }) => void refused.push({ key, code }))
  t.subscribe(room, async () => [])
  t.connect(session)
  await waitFor(() => t.state === 'online', 'online')
  const updates = () =>
    stub.log.filter((e) => e.frame.type === 'update').map((e) => e.frame as FrameOf<'update'>)
  const send = (lane: Lane | 'meta', key: string | undefined, size = 1000) =>
    t.send({
      conversation: room,
      doc: lane === 'meta' ? 'room/meta' : `room/${lane}/1`,
      lane,
      update: yUpdate(size, key),
      ...(key === undefined ? {} : { key }),
    })
  return { stub, t, acked, refused, updates, send }
}

describe('priority and credit', () => {
  it('sends a queued urgent update next when credit returns, ahead of 200 queued normal ones', async () => {
    const { stub, t, acked, updates, send } = await online()
    stub.autoAck = false
    for (let i = 0; i < 200; i++) send('normal', `n${i}`)
    const unacked = () => [...stub.connections[0]!.unacked.values()].reduce((a, b) => a + b, 0)
    // Before any ack the window is the initial one: it fills, and the rest waits.
    await waitFor(() => unacked() + 1500 > INITIAL_WINDOW_BYTES, 'credit exhausted')
    const inFlight = updates().length
    expect(unacked()).toBeLessThanOrEqual(INITIAL_WINDOW_BYTES)
    expect(t.queued).toBeGreaterThan(0)
    send('urgent', 'u')
    await waitFor(() => t.queued > 0 && updates().length === inFlight, 'urgent queued')
    expect(updates().some((f) => f.doc === 'room/urgent/1')).toBe(false)
    stub.releaseAcks()
    await waitFor(() => updates().length > inFlight, 'credit returned')
    expect(updates()[inFlight]!.doc).toBe('room/urgent/1')
    stub.autoAck = true
    stub.releaseAcks()
    await waitFor(() => acked.length === 201, 'every ack')
    expect(new Set(acked).size).toBe(201)
  })

  it('merges queued entries of one doc into one update per frame, and acks name every entry', async () => {
    const { stub, t, acked, updates, send } = await online()
    stub.autoAck = false
    for (let i = 0; i < 40; i++) send('normal', `n${i}`, 20)
    const received = () => {
      const merged = new Doc()
      for (const frame of updates()) applyUpdate(merged, frame.update)
      return [...merged.getMap('m').keys()].sort()
    }
    await waitFor(() => t.queued === 0 && received().length === 40, 'all received')
    expect(received()).toEqual(Array.from({ length: 40 }, (_, i) => `n${i}`).sort())
    expect(updates().length).toBeLessThan(40)
    stub.autoAck = true
    stub.releaseAcks()
    await waitFor(() => acked.length === 40, 'every ack')
    expect(new Set(acked).size).toBe(40)
  })

  it('never has more unacknowledged than the window it reports allows; a larger update goes alone', async () => {
    const lanes = [...SYNC_ORDER]
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...lanes), fc.integer({ min: 1, max: 6000 })), {
          minLength: 20,
          maxLength: 120,
        }),
        fc.integer({ min: 70_000, max: 150_000 }),
        fc.nat({ max: 30 }),
        async (sends, big, where) => {
          // At each arrival: the unacknowledged bytes, and whether the oversized update had company.
          const overdrawn: number[] = []
          let bigAlone: boolean | undefined
          // The window as it was at each write to the socket: the largest bounds every send.
          let widest = INITIAL_WINDOW_BYTES
          let transport: { readonly creditWindow: number } | undefined
          class Recording extends WS {
            override send(data: Parameters<WS['send']>[0]) {
              widest = Math.max(widest, transport?.creditWindow ?? 0)
              super.send(data)
            }
          }
          const { t, acked, send } = await online(
            {
              ackDelay: () => Math.random() * 3,
              observe: (conn, frame) => {
                let total = 0
                for (const bytes of conn.unacked.values()) total += bytes
                if (total > widest && conn.unacked.size > 1) overdrawn.push(total)
                // Larger than any window: it may only go with nothing else unacknowledged.
                if (frame.update.length > widest) bigAlone = conn.unacked.size === 1
              },
            },
            Recording,
          )
          transport = t
          sends.forEach(([lane, size], i) => {
            if (i === where) send('low', 'big', big)
            send(lane, `k${i}`, size)
          })
          const withBig = where < sends.length
          await waitFor(() => acked.length === sends.length + (withBig ? 1 : 0), 'every ack')
          expect(overdrawn).toEqual([])
          expect(bigAlone).not.toBe(false)
          await Promise.all(
            cleanup
              .splice(0)
              .reverse()
              .map((fn) => fn()),
          )
        },
      ),
      { numRuns: 15 },
    )
  })

  it('carries one update per frame, within MAX_FRAME_BYTES unless the update alone is larger', async () => {
    const { stub, acked, send } = await online()
    send('normal', 'small', 500)
    send('normal', 'large', MAX_FRAME_BYTES + 10)
    await waitFor(() => acked.length === 2, 'acks')
    const sizes = stub.connections[0]!.frames.filter((f) => f.type === 'update').map((f) => f.update.length)
    expect(sizes).toHaveLength(2)
    expect(sizes[0]).toBeLessThan(MAX_FRAME_BYTES)
  })

  it('keeps frames in its queues while the socket buffer is full, so urgent ones still overtake', async () => {
    const { WebSocket, last } = fakeSockets()
    const clock = manualTimers()
    const t = websocketTransport({ url: 'ws://x/', token: 't', WebSocket, timers: clock.timers })
    t.connect(session)
    last().open()
    await Promise.resolve()
    last().deliver({ type: 'welcome', user: 'alice', serverTime: 0 })
    await Promise.resolve() // the first ping leaves
    const socket = last()
    socket.bufferedAmount = 1 << 20
    const base = socket.sent.length
    for (let i = 0; i < 5; i++)
      t.send({ conversation: room, doc: 'room/low/1', lane: 'low', update: yUpdate(10), key: `l${i}` })
    t.send({ conversation: room, doc: 'room/urgent/1', lane: 'urgent', update: yUpdate(10), key: 'u' })
    await Promise.resolve()
    expect(socket.sent.length).toBe(base)
    expect(t.queued).toBe(6)
    socket.bufferedAmount = 0
    clock.fire(clock.pending((ms) => ms < 100)[0]!)
    const docs = socket.sent.slice(base).map((f) => (f.type === 'update' ? f.doc : f.type))
    // The five low entries of one doc leave merged, in one frame.
    expect(docs).toEqual(['room/urgent/1', 'room/low/1'])
  })
})

describe('acks and refusals', () => {
  it('refuses an update larger than the server’s frame limit instead of losing the connection to it', async () => {
    const stub = await startStub()
    cleanup.push(() => stub.close())
    const t = websocketTransport({ url: stub.url, token: 't', WebSocket: WS, maxPayload: 4096 })
    cleanup.push(() => t.close())
    const refused: { key: string; code: ErrorCode }[] = []
    t.on('refused', ({ key, code }) => void refused.push({ key, code }))
    t.subscribe(room, async () => [])
    t.connect(session)
    await waitFor(() => t.state === 'online', 'online')
    t.send({ conversation: room, doc: 'room/normal/1', lane: 'normal', update: yUpdate(5000), key: 'big' })
    await waitFor(() => refused.length === 1, 'refused')
    expect(refused).toEqual([{ key: 'big', code: 'input/too-large' }])
    expect(t.state).toBe('online')
    expect(stub.log.some((e) => e.frame.type === 'update')).toBe(false)
  })

  it('maps error refs back to outbox keys, one answer per entry of a refused merged frame', async () => {
    const codes: Record<string, string> = { r1: 'retention/expired', r2: 'clock/skew', r3: 'made/up' }
    const { acked, refused, send, updates } = await online({
      refuse: (frame) => {
        const text = new TextDecoder().decode(frame.update)
        return Object.entries(codes).find(([key]) => text.includes(key))?.[1]
      },
    })
    send('normal', 'ok', 10)
    for (const key of Object.keys(codes)) send('normal', key, 10)
    await waitFor(() => refused.length === 3 && acked.length === 1, 'answers')
    expect(acked).toEqual(['ok'])
    // The four left merged; the refused frame's entries went again alone, each for its own answer.
    const keysOf = (update: Uint8Array) => {
      const doc = new Doc()
      applyUpdate(doc, update)
      return [...doc.getMap('m').keys()]
    }
    expect(keysOf(updates()[0]!.update)).toHaveLength(4)
    expect(
      updates()
        .slice(1)
        .map((f) => keysOf(f.update).length),
    ).toEqual([1, 1, 1, 1])
    expect([...refused].sort((a, b) => a.key.localeCompare(b.key))).toEqual([
      { key: 'r1', code: 'retention/expired' },
      { key: 'r2', code: 'clock/skew' },
      { key: 'r3', code: 'protocol/malformed' },
    ])
  })

  it('after a refusal for rate, starts over slower instead of reporting the update refused', async () => {
    let refusals = 0
    const { t, acked, refused, send } = await online({
      refuse: () => (refusals++ === 0 ? 'quota/exceeded' : undefined),
    })
    // Plays the client: the outbox goes again whenever the link syncs.
    t.on('connection', (state) => {
      if (state === 'syncing' && acked.length === 0) send('normal', 'once')
    })
    send('normal', 'once')
    await waitFor(() => acked.length === 1, 'ack after the reconnect')
    expect(refused).toEqual([])
    expect(refusals).toBe(2)
  })

  it('paces frames below the server’s rate limit', async () => {
    const { WebSocket, last } = fakeSockets()
    const clock = manualTimers()
    let now = 0
    const t = websocketTransport({
      url: 'ws://x/',
      token: 't',
      WebSocket,
      timers: clock.timers,
      now: () => now,
      maxFramesPerSecond: 50,
      pingInterval: 1e9,
      pingTimeout: 1e9,
    })
    t.connect(session)
    last().open()
    await Promise.resolve()
    last().deliver({ type: 'welcome', user: 'alice', serverTime: 0 })
    for (let i = 0; i < 100; i++)
      t.send({ conversation: room, doc: 'room/low/1', lane: 'low', update: yUpdate(10, `u${i}`) })
    await Promise.resolve()
    const updates = () => last().sent.filter((f) => f.type === 'update').length
    // A second's worth at once (the ping took one), then one frame per 20 ms.
    expect(updates()).toBe(49)
    now += 100
    clock.fire(clock.pending((ms) => ms < 1e9)[0]!)
    expect(updates()).toBe(54)
  })

  it('sends each outbox key once per connection, however often the client resends it', async () => {
    const { stub, acked, send, updates } = await online()
    stub.autoAck = false
    send('normal', 'same')
    send('normal', 'same')
    await waitFor(() => updates().length === 1, 'sent')
    send('normal', 'same')
    stub.autoAck = true
    stub.releaseAcks()
    await waitFor(() => acked.length === 1, 'ack')
    expect(updates()).toHaveLength(1)
  })

  it('answers the server’s step 1 with a step 2 and sends other keyless updates with ref 0', async () => {
    const { stub, t, send } = await online()
    stub.connections[0]!.frames.length = 0
    t.on('sync-request', ({ conversation, doc }) =>
      t.send({ conversation, doc, lane: 'normal', update: yUpdate(5, 'answer') }),
    )
    send('normal', 'k') // creates the doc: the stub pushes a manifest, the transport asks, the stub asks back
    await waitFor(() => stub.connections[0]!.frames.some((f) => f.type === 'sync-step2'), 'the answer')
    send('high', undefined)
    await waitFor(
      () => stub.connections[0]!.frames.some((f) => f.type === 'update' && f.ref === 0),
      'keyless',
    )
  })

  it('drops sends while offline and forgets refs in flight on a loss', async () => {
    const { stub, t, acked, send, updates } = await online()
    stub.autoAck = false
    send('normal', 'lost')
    await waitFor(() => updates().length === 1, 'in flight')
    stub.connections[0]!.socket.terminate()
    await waitFor(() => t.state === 'offline', 'offline')
    send('normal', 'dropped')
    await waitFor(() => t.state === 'online', 'back')
    stub.autoAck = true
    send('normal', 'lost')
    await waitFor(() => acked.length === 1, 'ack')
    expect(acked).toEqual(['lost'])
    expect(updates().map((f) => f.ref)).toEqual([1, 1])
  })
})
