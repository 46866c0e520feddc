import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { applyUpdate, Doc, encodeStateAsUpdate, encodeStateVector } from 'yjs'
import { type ConversationId, conversationId, deviceId } from '../ids.js'
import { type Lane, parseDocName } from '../lanes.js'
import type { ConnectionState, OutgoingUpdate, Transport, TransportSession } from '../transport.js'
import { isEmptyUpdate } from '../updates.js'
import { conversationArb, indexArb, keyArb, propertyParameters, swapCase } from './arbitraries.js'
import { awarenessCases, type TransportConformanceOptions } from './awareness.js'

/** Two client links to one backend, neither connected yet. */
export interface TransportConformanceSetup {
  readonly transports: readonly [Transport, Transport]
  /** Resolves once every frame in flight, and every frame those produce, has been delivered. */
  readonly flush: () => Promise<void>
  /** Frees what `setup` made, after each case. */
  readonly teardown?: () => Promise<void>
}

type Value = string | number | boolean | null
const text = (maxLength: number) => fc.string({ unit: 'binary', maxLength })
const valueArb: fc.Arbitrary<Value> = fc.oneof(text(8), fc.integer(), fc.boolean(), fc.constant(null))
// Few keys, so both sides often set the same one; outbox keys get odd prefixes in turn.
const mapKeyArb = fc.oneof(fc.constantFrom('a', 'b', 'ü', '', '__proto__'), text(6))
const ODD_KEYS = ['', '😀', '__proto__', 'a/b', ' ', 'ключ', '\u2028', '%_']
const LANES = ['urgent', 'high', 'normal', 'low', 'control', 'receipts'] as const
/** A doc of the conversation, by a suffix: `meta` or `<lane>/<period>`. */
const docSuffixArb = fc.oneof(
  fc.constant('meta'),
  fc
    .tuple(fc.constantFrom(...LANES), fc.oneof(fc.nat({ max: 3 }), fc.constant(999_999_999_999_999)))
    .map(([lane, period]) => `${lane}/${period}`),
)
const write = fc.record({ doc: indexArb, key: mapKeyArb, value: valueArb })

/** Plays the client: keeps a Y.Doc per doc name, answers sync requests, resends what was not acked. */
class Peer {
  readonly docs = new Map<string, Doc>()
  readonly states: ConnectionState[] = []
  readonly acked: string[] = []
  readonly received: { conversation: string; doc: string }[] = []
  readonly synced: string[] = []
  /** Keyed updates sent and not yet acknowledged: the outbox, resent whenever the link syncs. */
  readonly pending = new Map<string, OutgoingUpdate>()
  /** Every map key written into each doc, for the nothing-lost check. */
  readonly written = new Map<string, Set<string>>()
  #keys = 0

  constructor(
    readonly transport: Transport,
    readonly session: TransportSession,
    readonly tag: string,
  ) {
    transport.on('connection', (state) => {
      this.states.push(state)
      if (state === 'syncing') for (const update of this.pending.values()) transport.send(update)
    })
    transport.on('update', ({ conversation, doc, update }) => {
      this.received.push({ conversation, doc })
      applyUpdate(this.doc(doc), update, 'remote')
    })
    transport.on('sync-request', ({ conversation, doc, stateVector }) => {
      const update = encodeStateAsUpdate(this.doc(doc), stateVector)
      if (!isEmptyUpdate(update)) transport.send({ conversation, doc, lane: laneOf(doc), update })
    })
    transport.on('ack', ({ keys }) => {
      for (const key of keys) {
        this.acked.push(key)
        this.pending.delete(key)
      }
    })
    transport.on('synced', ({ conversation }) => void this.synced.push(conversation))
  }

  doc(name: string): Doc {
    let doc = this.docs.get(name)
    if (!doc) {
      doc = new Doc({ guid: name })
      this.docs.set(name, doc)
    }
    return doc
  }

  connect() {
    this.transport.connect(this.session)
  }

  subscribe(conversation: ConversationId) {
    this.transport.subscribe(conversation, async () =>
      [...this.docs]
        .filter(([name]) => name.startsWith(`${conversation}/`))
        .map(([name, doc]) => ({ doc: name, stateVector: encodeStateVector(doc) })),
    )
  }

  /** Sets a key and sends the update under a fresh outbox key (or keeps it local with `send: false`). */
  write(conversation: ConversationId, doc: string, key: string, value: Value, send = true): string {
    const y = this.doc(doc)
    const before = encodeStateVector(y)
    y.getMap('m').set(key, value)
    const written = this.written.get(doc) ?? new Set()
    this.written.set(doc, written.add(key))
    const n = ++this.#keys
    const outboxKey = `${ODD_KEYS[n % ODD_KEYS.length]}${this.tag}.${n}`
    const update: OutgoingUpdate = {
      conversation,
      doc,
      lane: laneOf(doc),
      update: encodeStateAsUpdate(y, before),
      key: outboxKey,
    }
    if (send) {
      this.pending.set(outboxKey, update)
      this.transport.send(update)
    }
    return outboxKey
  }

  /** The doc's map `m` as sorted `key=json` strings: comparable whatever the keys. */
  view(doc: string): string[] {
    return [...this.doc(doc).getMap('m').entries()]
      .map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`)
      .sort()
  }
}

const laneOf = (doc: string): Lane | 'meta' => parseDocName(doc)?.kind ?? 'normal'

/** States since a connect: never offline, through syncing, ending online, no repeats; `state` agrees. */
const expectCameOnline = (peer: Peer, since: number) => {
  const states = peer.states.slice(since)
  expect(peer.transport.state, 'state').toBe('online')
  expect(states.at(-1), `last connection event of ${JSON.stringify(states)}`).toBe('online')
  expect(states.slice(0, -1), `states ${JSON.stringify(states)} pass through syncing`).toContain('syncing')
  expect(states, 'no offline while connecting').not.toContain('offline')
  for (let i = 1; i < states.length; i++) expect(states[i], 'a state is emitted once').not.toBe(states[i - 1])
}

/** Both peers hold the same content in every doc, and no written key is missing. */
const expectConverged = (a: Peer, b: Peer, docs: readonly string[]) => {
  for (const doc of docs) {
    expect(b.view(doc), `${doc}: both sides hold the same content`).toEqual(a.view(doc))
    const keys = new Set([...(a.written.get(doc) ?? []), ...(b.written.get(doc) ?? [])])
    expect(a.view(doc).length, `${doc}: every written key is there`).toBe(keys.size)
  }
}

/** Only updates of `allowed` conversations, each for a doc of that conversation. */
const expectOnly = (peer: Peer, allowed: readonly string[], what: string) => {
  const stray = peer.received.filter(
    (e) => !allowed.includes(e.conversation) || !e.doc.startsWith(`${e.conversation}/`),
  )
  expect(stray, what).toEqual([])
}

const SESSIONS = [
  { user: 'alice', device: deviceId('alice0001') },
  { user: 'bob', device: deviceId('bob00002') },
] as const
const oneConversation = conversationArb.map(conversationId)
/** Three ids, two of them near x: x with a character more or less, and x in other case or shorter. */
const nearConversations = fc
  .tuple(conversationArb, fc.constantFrom('_', '.', '-', 'b', 'A', '0'), fc.boolean())
  .map(([x, c, longerFirst]) => {
    const y = x.length < 128 ? `${x}${c}` : x.slice(0, -1)
    const z = swapCase(x) !== x ? swapCase(x) : x.length > 1 ? x.slice(0, -1) : `${x}${c}${c}`
    return (longerFirst ? [y, x, z] : [x, y, z]).map(conversationId) as [
      ConversationId,
      ConversationId,
      ConversationId,
    ]
  })
  .filter(([x, y, z]) => new Set([x, y, z]).size === 3)

/**
 * Registers the transport conformance tests (vitest + fast-check). `setup` gives two links to one
 * backend for each run; the suite plays the client on both sides. Every property is seeded: a failure
 * prints the seed and path to replay (options or env `FC_SEED`, `FC_PATH`).
 */
export function runTransportConformance(
  setup: () => Promise<TransportConformanceSetup>,
  options: TransportConformanceOptions = {},
): void {
  const timeout = options.timeout ?? 60_000
  const withTransports = async (
    fn: (links: readonly [Transport, Transport], flush: () => Promise<void>) => Promise<void>,
  ) => {
    const { transports, flush, teardown } = await setup()
    try {
      await fn(transports, flush)
    } finally {
      for (const transport of transports) await transport.close()
      await teardown?.()
    }
  }
  const withLinks = (fn: (a: Peer, b: Peer, flush: () => Promise<void>) => Promise<void>) =>
    withTransports(([a, b], flush) => fn(new Peer(a, SESSIONS[0], 'a'), new Peer(b, SESSIONS[1], 'b'), flush))
  const check = <Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<Ts>) =>
    fc.assert(property, propertyParameters<Ts>(options))

  describe('transport conformance', () => {
    it(
      'starts offline, comes online through syncing, and fires synced per subscribed conversation',
      () =>
        check(
          fc.asyncProperty(
            fc.uniqueArray(conversationArb, { minLength: 1, maxLength: 4 }),
            indexArb,
            (ids, split) =>
              withLinks(async (a, _b, flush) => {
                const conversations = ids.map(conversationId)
                const before = conversations.slice(0, 1 + (split % conversations.length))
                expect(a.transport.state, 'state before connect').toBe('offline')
                for (const c of before) a.subscribe(c)
                a.connect()
                await flush()
                expectCameOnline(a, 0)
                for (const c of conversations.slice(before.length)) a.subscribe(c)
                await flush()
                expect(a.transport.state, 'state after subscribing while online').toBe('online')
                expect(new Set(a.synced), 'synced conversations').toEqual(new Set(conversations))
              }),
          ),
        ),
      timeout,
    )

    it(
      'acks keyed updates and delivers them to the subscribers of their conversation only',
      () =>
        check(
          fc.asyncProperty(
            nearConversations,
            fc.uniqueArray(docSuffixArb, { minLength: 1, maxLength: 3 }),
            fc.array(fc.tuple(fc.boolean(), write), { minLength: 1, maxLength: 8 }),
            fc.array(write, { minLength: 1, maxLength: 3 }),
            ([x, y, z], suffixes, writes, later) =>
              withLinks(async (a, b, flush) => {
                // a: x and y; b: x and z. Near ids (x = 'a', y = 'a_') make prefix mistakes show.
                for (const c of [x, y]) a.subscribe(c)
                for (const c of [x, z]) b.subscribe(c)
                a.connect()
                b.connect()
                await flush()
                const docsOf = (c: string) => suffixes.map((s) => `${c}/${s}`)
                const sent = writes.map(([inX, w]) => {
                  const c = inX ? x : y
                  return a.write(c, docsOf(c)[w.doc % suffixes.length]!, w.key, w.value)
                })
                await flush()
                expect(new Set(a.acked), 'every key acked').toEqual(new Set(sent))
                expect(a.pending.size, 'nothing left unacked').toBe(0)
                expectConverged(a, b, docsOf(x))
                expectOnly(b, [x], 'b receives nothing of a conversation it did not subscribe to')
                b.transport.disconnect()
                b.connect()
                await flush()
                expectOnly(b, [x], 'nor when it subscribes again with docs of y stored')
                b.transport.unsubscribe(x)
                const seen = b.received.length
                for (const w of later) a.write(x, docsOf(x)[w.doc % suffixes.length]!, w.key, w.value)
                await flush()
                expect(b.received.slice(seen), 'nothing after unsubscribe').toEqual([])
                expect(a.pending.size, 'acked without other subscribers').toBe(0)
              }),
          ),
        ),
      timeout,
    )

    it(
      'syncs on subscribe: docs written before reach the newcomer, and its own docs reach the others',
      () =>
        check(
          fc.asyncProperty(
            oneConversation,
            fc.uniqueArray(docSuffixArb, { minLength: 1, maxLength: 3 }),
            fc.array(fc.tuple(fc.boolean(), write), { minLength: 1, maxLength: 10 }),
            fc.boolean(),
            (x, suffixes, writes, subscribeFirst) =>
              withLinks(async (a, b, flush) => {
                const docs = suffixes.map((s) => `${x}/${s}`)
                a.subscribe(x)
                a.connect()
                await flush()
                // b's writes stay local (never sent): only answering the sync request can carry them.
                for (const [byA, w] of writes)
                  (byA ? a : b).write(x, docs[w.doc % docs.length]!, w.key, w.value, byA)
                await flush()
                if (subscribeFirst) b.subscribe(x)
                b.connect()
                if (!subscribeFirst) b.subscribe(x)
                await flush()
                expectCameOnline(b, 0)
                expect(b.synced, 'b synced x').toContain(x)
                expectConverged(a, b, docs)
              }),
          ),
        ),
      timeout,
    )

    it(
      'goes offline on disconnect and drops sends; reconnect cycles back to online and resyncs',
      () =>
        check(
          fc.asyncProperty(
            oneConversation,
            docSuffixArb,
            fc.array(write, { minLength: 1, maxLength: 4 }),
            keyArb,
            (x, suffix, writes, tag) =>
              withLinks(async (a, b, flush) => {
                const doc = `${x}/${suffix}`
                for (const peer of [a, b]) {
                  peer.subscribe(x)
                  peer.connect()
                }
                await flush()
                a.transport.disconnect()
                const seen = b.received.length
                const keys = writes.map((w) => a.write(x, doc, `${tag}${w.key}`, w.value))
                await flush()
                expect(a.transport.state, 'state after disconnect').toBe('offline')
                expect(a.states.at(-1), 'last connection event').toBe('offline')
                expect(b.received.length, 'nothing reaches b while a is offline').toBe(seen)
                // Forget the outbox: whatever reaches b now must come from the sync, not a queued send.
                a.pending.clear()
                const since = a.states.length
                a.connect()
                await flush()
                expectCameOnline(a, since)
                expect(
                  a.acked.filter((k) => keys.includes(k)),
                  'sends while offline were dropped, never acked',
                ).toEqual([])
                expectConverged(a, b, [doc])
              }),
          ),
        ),
      timeout,
    )

    const step = fc.oneof(
      { weight: 8, arbitrary: fc.tuple(fc.nat({ max: 1 }), write).map(([side, w]) => ({ side, ...w })) },
      { weight: 2, arbitrary: fc.record({ toggle: fc.nat({ max: 1 }) }) },
      { weight: 1, arbitrary: fc.constantFrom('flush' as const, 'tick' as const) },
    )
    it(
      'converges after random writes on both sides with random disconnects, once both are back and flushed',
      () =>
        check(
          fc.asyncProperty(
            oneConversation,
            fc.uniqueArray(docSuffixArb, { minLength: 1, maxLength: 4 }),
            fc.array(step, { maxLength: 40, size: 'medium' }),
            (x, suffixes, steps) =>
              withLinks(async (a, b, flush) => {
                const docs = suffixes.map((s) => `${x}/${s}`)
                const peers = [a, b] as const
                const online = [true, true]
                let connects = [0, 0]
                for (const peer of peers) {
                  peer.subscribe(x)
                  peer.connect()
                }
                for (const s of steps) {
                  if (s === 'flush') await flush()
                  else if (s === 'tick') await new Promise((resolve) => setTimeout(resolve, 0))
                  else if ('toggle' in s) {
                    const peer = s.toggle ? b : a
                    if (online[s.toggle]) peer.transport.disconnect()
                    else peer.connect()
                    online[s.toggle] = !online[s.toggle]
                  } else (s.side ? b : a).write(x, docs[s.doc % docs.length]!, s.key, s.value)
                }
                connects = peers.map((p) => p.synced.length)
                for (const [i, peer] of peers.entries()) {
                  if (!online[i]) peer.connect()
                }
                await flush()
                for (const [i, peer] of peers.entries()) {
                  expect(peer.transport.state, `side ${i} state`).toBe('online')
                  expect(peer.pending.size, `side ${i}: every update acked`).toBe(0)
                  expectOnly(peer, [x], `side ${i} receives only x`)
                  if (!online[i])
                    expect(peer.synced.length, `side ${i}: synced after reconnect`).toBeGreaterThan(
                      connects[i]!,
                    )
                }
                expectConverged(a, b, docs)
              }),
          ),
        ),
      timeout,
    )

    it(
      'stops for good on close',
      () =>
        withLinks(async (a, b, flush) => {
          const x = conversationId('room')
          for (const peer of [a, b]) {
            peer.subscribe(x)
            peer.connect()
          }
          await flush()
          await a.transport.close()
          await flush()
          expect(a.transport.state, 'state after close').toBe('offline')
          const seen = a.received.length
          b.write(x, `${x}/meta`, 'k', 'v')
          await flush()
          expect(a.received.length, 'nothing arrives after close').toBe(seen)
          expect(b.pending.size, 'b is still served').toBe(0)
          // For good: connect() after close() may throw, but must not bring the link back.
          try {
            a.connect()
          } catch {}
          await flush()
          expect(a.transport.state, 'state after connect() on a closed transport').toBe('offline')
        }),
      timeout,
    )

    awarenessCases(withTransports, SESSIONS, nearConversations, options, timeout)
  })
}
