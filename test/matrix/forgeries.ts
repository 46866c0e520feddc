import {
  type ConversationId,
  DEFAULT_PERIOD_MS,
  type DeviceId,
  docAt,
  type Message,
  type MessageHeader,
  metaDocName,
} from '@tidings/core'
import * as Y from 'yjs'
import { deleteOnly } from '../../packages/server/test/raw-updates.js'

/**
 * Forged updates a member can write as a raw Yjs peer, built once for both paths of the fault
 * matrix: straight into a simulated hub (no server) and over a raw socket to a real server.
 */

/** What any member of the conversation has seen: all a forger needs. */
export interface Scene {
  readonly conversation: ConversationId
  /** The forger's clock: stamps it writes are "now", so they win over every earlier one. */
  readonly now: number
  /** Alice's laptop: it wrote `edited` and `deleted`, and writes next. */
  readonly alice: DeviceId
  readonly bob: DeviceId
  /** The forger's own device, registered in meta as any member's is. */
  readonly mallory: DeviceId
  /** Alice's message, edited by her and pinned by Bob. */
  readonly edited: Message
  /** Bob's message, never edited. */
  readonly bobs: Message
  /** A message Alice deleted, as the forger saw it before. */
  readonly deleted: Message
  /** The id Alice's laptop gives its next message. */
  readonly nextAlice: string
}

/** One forged update and the doc it goes to. */
export interface Write {
  readonly doc: string
  readonly update: Uint8Array
}

export interface Forgery {
  readonly name: string
  /**
   * Without a server: `refused` when the core view must not show it (the trust rules it checks
   * itself, DESIGN.md and docs/security.md), `shown` when it is a documented limit: nothing
   * authenticates a Yjs peer that writes as another device, into meta, or with Yjs deletes.
   * A server refuses every one.
   */
  readonly withoutServer: 'refused' | 'shown'
  writes(scene: Scene, state: (doc: string) => Uint8Array | undefined): Write[]
}

/** Device ids nobody registered in the conversation. */
const GHOST = 'ghostdev1'
const GHOST_OF_BOB = 'ghostdev2'

/** The forger's Yjs clientID: fixed, so a seeded run replays exactly. */
const FORGER_CLIENT = 0x6d616c

/** Applies `fn` to the forger's copy of `doc` (its known `state`) and returns the change alone. */
const change = (
  doc: string,
  state: (doc: string) => Uint8Array | undefined,
  fn: (d: Y.Doc) => void,
): Write => {
  const d = new Y.Doc()
  const base = state(doc)
  if (base) Y.applyUpdate(d, base)
  d.clientID = FORGER_CLIENT
  const before = Y.encodeStateVector(d)
  d.transact(() => fn(d))
  const update = Y.encodeStateAsUpdate(d, before)
  d.destroy()
  return { doc, update }
}

const headerOf = (m: Message): MessageHeader => ({
  author: m.author,
  device: m.device,
  stamp: m.stamp,
  priority: m.priority,
  ...(m.replyTo ? { replyTo: m.replyTo } : {}),
})
const recordOf = (m: Message) => ({ ...headerOf(m), body: m.body })
/** A pin as core writes it: the header and the original body, stamped with the message's stamp. */
const snapshotOf = (m: Message) => ({ header: headerOf(m), body: m.body, stamp: m.stamp })

/** Doc names: the lane and control docs of a time's period (default length), its receipts, meta. */
const lane = (s: Scene, wall = s.now) => docAt(s.conversation, 'normal', wall, DEFAULT_PERIOD_MS)
const control = (s: Scene, wall = s.now) => docAt(s.conversation, 'control', wall, DEFAULT_PERIOD_MS)
const receipts = (s: Scene) => docAt(s.conversation, 'receipts', s.now, DEFAULT_PERIOD_MS)
const meta = (s: Scene) => metaDocName(s.conversation)

const stamp = (s: Scene) => ({ wall: s.now, counter: 0 })
const forgedMessage = (s: Scene, author: string, device: string) => ({
  author,
  device,
  stamp: stamp(s),
  body: 'FORGED message',
  priority: 'normal',
})
const tombstone = (s: Scene, header: MessageHeader) => ({ stamp: stamp(s), deleted: true, header })
/** Read and held: every seq of every device up to 1000, the forger's future messages included. */
const everything = (s: Scene) => {
  const all = { [s.alice]: [1, 1000], [s.bob]: [1, 1000], [s.mallory]: [1, 1000] }
  // Stamped a day ahead: no later record of the device's own replaces it before then.
  return { held: all, read: all, at: { wall: s.now + 86_400_000, counter: 0 } }
}

/** Sets `key` of root map `map`. */
const set = (map: string, key: string, value: unknown) => (d: Y.Doc) => d.getMap(map).set(key, value)

/** A tombstone of the id Alice writes next, under `writer`'s device key. */
const preTombstone = (s: Scene, st: (doc: string) => Uint8Array | undefined, writer: string) => {
  const header: MessageHeader = {
    author: 'alice',
    device: s.alice,
    stamp: stamp(s),
    priority: 'normal',
  }
  return change(control(s), st, set('c', `${s.nextAlice}/${writer}`, tombstone(s, header)))
}

/**
 * Every forgery of the matrix row: messages, edits and tombstones, pins, pre-deletes, receipts and
 * meta writes, each refused by the view or a documented limit without a server.
 */
export const FORGERIES: readonly Forgery[] = [
  // Messages under another device's id or another user's name.
  {
    name: 'message keyed by alice’s device, author mallory',
    withoutServer: 'refused',
    writes: (s, st) => [change(lane(s), st, set('m', `${s.alice}.77`, forgedMessage(s, 'mallory', s.alice)))],
  },
  {
    name: 'message of mallory’s own device, author alice',
    withoutServer: 'refused',
    writes: (s, st) => [
      change(lane(s), st, set('m', `${s.mallory}.1`, forgedMessage(s, 'alice', s.mallory))),
    ],
  },
  {
    name: 'message keyed by mallory’s device, naming alice’s device',
    withoutServer: 'refused',
    writes: (s, st) => [change(lane(s), st, set('m', `${s.mallory}.2`, forgedMessage(s, 'alice', s.alice)))],
  },
  {
    name: 'message keyed by alice’s device at the last safe seq, author mallory',
    withoutServer: 'refused',
    writes: (s, st) => [
      change(
        lane(s),
        st,
        set('m', `${s.alice}.${Number.MAX_SAFE_INTEGER}`, forgedMessage(s, 'mallory', s.alice)),
      ),
    ],
  },
  {
    name: 'message keyed by alice’s device, as alice',
    withoutServer: 'shown',
    writes: (s, st) => [change(lane(s), st, set('m', `${s.alice}.77`, forgedMessage(s, 'alice', s.alice)))],
  },
  {
    name: 'message of a device meta does not map, as alice',
    withoutServer: 'shown',
    writes: (s, st) => [change(lane(s), st, set('m', `${GHOST}.1`, forgedMessage(s, 'alice', GHOST)))],
  },
  {
    name: 'bob’s message overwritten in its lane doc',
    withoutServer: 'shown',
    writes: (s, st) => [
      change(lane(s, s.bobs.sentAt), st, set('m', s.bobs.id, { ...recordOf(s.bobs), body: 'FORGED body' })),
    ],
  },
  {
    name: 'bob’s message deleted from its lane doc',
    withoutServer: 'shown',
    writes: (s, st) => [change(lane(s, s.bobs.sentAt), st, (d) => d.getMap('m').delete(s.bobs.id))],
  },
  // Edits and tombstones of someone else's message.
  {
    name: 'edit of alice’s message under mallory’s device',
    withoutServer: 'refused',
    writes: (s, st) => [
      change(
        control(s, s.edited.sentAt),
        st,
        set('c', `${s.edited.id}/${s.mallory}`, { stamp: stamp(s), body: 'FORGED edit' }),
      ),
    ],
  },
  {
    name: 'tombstone of bob’s message under mallory’s device',
    withoutServer: 'refused',
    writes: (s, st) => [
      change(
        control(s, s.bobs.sentAt),
        st,
        set('c', `${s.bobs.id}/${s.mallory}`, tombstone(s, headerOf(s.bobs))),
      ),
    ],
  },
  {
    name: 'tombstone of alice’s message under an unregistered device',
    withoutServer: 'refused',
    writes: (s, st) => [
      change(
        control(s, s.edited.sentAt),
        st,
        set('c', `${s.edited.id}/${GHOST}`, tombstone(s, headerOf(s.edited))),
      ),
    ],
  },
  {
    name: 'edit of alice’s message under alice’s device',
    withoutServer: 'shown',
    writes: (s, st) => [
      change(
        control(s, s.edited.sentAt),
        st,
        set('c', `${s.edited.id}/${s.alice}`, { stamp: stamp(s), body: 'FORGED edit' }),
      ),
    ],
  },
  // Pins whose snapshot does not match, or that name a pinner other than their writer.
  {
    name: 'pin with a body the message never had',
    withoutServer: 'refused',
    writes: (s, st) => [
      change(
        meta(s),
        st,
        set('pins', `${s.bobs.id}/${s.mallory}`, { ...snapshotOf(s.bobs), body: 'FORGED pin' }),
      ),
    ],
  },
  {
    name: 'pin with a header that differs (priority)',
    withoutServer: 'refused',
    writes: (s, st) => {
      const pin = snapshotOf(s.bobs)
      return [
        change(
          meta(s),
          st,
          set('pins', `${s.bobs.id}/${s.mallory}`, { ...pin, header: { ...pin.header, priority: 'urgent' } }),
        ),
      ]
    },
  },
  {
    name: 'pin of an id alice never sent',
    withoutServer: 'refused',
    writes: (s, st) => {
      const header = { ...headerOf(s.edited), stamp: { wall: s.edited.sentAt + 1, counter: 0 } }
      const pin = { header, body: 'FORGED never sent', stamp: header.stamp }
      return [change(meta(s), st, set('pins', `${s.alice}.78/${s.mallory}`, pin))]
    },
  },
  {
    name: 'pin naming a pinner device nobody registered',
    withoutServer: 'refused',
    writes: (s, st) => [change(meta(s), st, set('pins', `${s.bobs.id}/${GHOST}`, snapshotOf(s.bobs)))],
  },
  {
    name: 'pin in the old format, naming its pinner in the value',
    withoutServer: 'refused',
    writes: (s, st) => [
      change(meta(s), st, set('pins', s.bobs.id, { ...snapshotOf(s.bobs), pinnedBy: 'alice' })),
    ],
  },
  {
    name: 'pin of a message its author deleted',
    withoutServer: 'refused',
    writes: (s, st) => [
      change(meta(s), st, set('pins', `${s.deleted.id}/${s.mallory}`, snapshotOf(s.deleted))),
    ],
  },
  {
    name: 'pin copy of an edit (pinEdits) under mallory’s device',
    withoutServer: 'refused',
    writes: (s, st) => [
      change(
        meta(s),
        st,
        set('pinEdits', `${s.edited.id}/${s.mallory}`, { stamp: stamp(s), body: 'FORGED pin edit' }),
      ),
    ],
  },
  {
    name: 'genuine pin written under alice’s device',
    withoutServer: 'shown',
    writes: (s, st) => [change(meta(s), st, set('pins', `${s.bobs.id}/${s.alice}`, snapshotOf(s.bobs)))],
  },
  // Pre-deletes: deleting what alice has not written yet, so her next message would vanish.
  {
    name: 'pre-tombstone of alice’s next id under mallory’s device',
    withoutServer: 'refused',
    writes: (s, st) => [preTombstone(s, st, s.mallory)],
  },
  {
    name: 'pre-tombstone of alice’s next id under alice’s device',
    withoutServer: 'shown',
    writes: (s, st) => [preTombstone(s, st, s.alice)],
  },
  {
    name: 'Yjs pre-delete of the clocks alice writes next in her lane doc',
    withoutServer: 'shown',
    writes: (s, st) => {
      // The lane doc of her edited message: her next one goes there too (same period, in the tests).
      const doc = lane(s, s.edited.sentAt)
      const state = new Y.Doc()
      Y.applyUpdate(state, st(doc) ?? new Uint8Array([0, 0]))
      // Alice's session writes under one clientID per doc: the one that wrote her edited message.
      const client = state.getMap('m')._map.get(s.edited.id)?.id.client
      if (client === undefined) throw new Error(`no item of ${s.edited.id} in ${doc}`)
      return [{ doc, update: deleteOnly(client, Y.getState(state.store, client), 100) }]
    },
  },
  // Receipts under someone else's device.
  {
    name: 'receipt under bob’s device, read everything',
    withoutServer: 'shown',
    writes: (s, st) => [change(receipts(s), st, set('r', s.bob, everything(s)))],
  },
  // Meta: devices and retention.
  {
    name: 'devices: alice’s device mapped to mallory',
    withoutServer: 'shown',
    writes: (s, st) => [change(meta(s), st, set('devices', s.alice, 'mallory'))],
  },
  {
    name: 'devices: a new device for bob, with its receipt',
    withoutServer: 'shown',
    writes: (s, st) => [
      change(meta(s), st, set('devices', GHOST_OF_BOB, 'bob')),
      change(receipts(s), st, set('r', GHOST_OF_BOB, everything(s))),
    ],
  },
  {
    name: 'retention a week and a day past now',
    withoutServer: 'refused',
    writes: (s, st) => [change(meta(s), st, set('retention', s.mallory, s.now + 8 * 86_400_000))],
  },
  {
    name: 'retention 2^53-1',
    withoutServer: 'refused',
    writes: (s, st) => [change(meta(s), st, set('retention', s.mallory, Number.MAX_SAFE_INTEGER))],
  },
  {
    name: 'retention that is not a time',
    withoutServer: 'refused',
    writes: (s, st) => [change(meta(s), st, set('retention', s.mallory, String(s.now)))],
  },
  {
    name: 'retention moved to now',
    withoutServer: 'shown',
    writes: (s, st) => [change(meta(s), st, set('retention', s.mallory, s.now))],
  },
]
