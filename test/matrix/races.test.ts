import {
  type Conversation,
  type ExportDoc,
  jsonEqual,
  type MemoryStorage,
  memoryStorage,
} from '@tidings/core'
import { assertConverged, createSimulatedNetwork, prng, type SimulatedDevice } from '@tidings/testing'
import { describe, expect, it } from 'vitest'
import { row, seedCount } from './report.js'
import { pick, shuffle } from './steps.js'

const SEEDS = seedCount(40)
const HOUR = 60 * 60 * 1000
/** Short periods, so later chat fills newer periods and a restarted device leaves the raced one unloaded. */
const PERIOD_MS = HOUR

/** What one seed does to the raced message while the three devices cannot reach each other. */
interface Plan {
  readonly cut: 'partition' | 'offline'
  /** Alice's first device edits it (twice on some seeds). */
  readonly edits: number
  /** Alice's second device deletes it; without a delete it edits too on some seeds. */
  readonly deletes: boolean
  readonly secondEdit: boolean
  /** Bob pinned it before the race. */
  readonly prePinned: boolean
  /** Bob's pin operations during the race, in order. */
  readonly bob: readonly ('pin' | 'unpin')[]
  /** Alice's first device pins it too. */
  readonly alicePins: boolean
  /** Devices restarted after the heal (their window may then leave the raced period unloaded). */
  readonly restart: readonly number[]
}

const plan = (random: () => number): Plan => {
  const deletes = random() < 0.7
  const bob = pick(random, [
    ['pin'],
    ['pin', 'unpin'],
    ['pin', 'unpin', 'pin'],
    ['unpin', 'pin'],
    [],
  ] as const)!
  return {
    cut: random() < 0.5 ? 'partition' : 'offline',
    edits: random() < 0.25 ? 2 : random() < 0.9 ? 1 : 0,
    deletes,
    secondEdit: !deletes && random() < 0.5,
    prePinned: random() < 0.4,
    bob,
    alicePins: random() < 0.3,
    restart: [0, 1, 2].filter(() => random() < 0.35),
  }
}

const utf8 = new TextEncoder()
const base64 = (s: string) => Uint8Array.from(Buffer.from(s, 'base64'))

/** How many times any of `texts` occurs in `bytes` (Yjs writes strings as plain UTF-8). */
const occurrences = (bytes: Uint8Array, texts: readonly string[]): number => {
  const haystack = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let n = 0
  for (const text of texts) {
    const needle = utf8.encode(text)
    for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) n++
  }
  return n
}
const inText = (text: string, texts: readonly string[]) => occurrences(utf8.encode(text), texts)

/** What a user can see of the conversation: messages, pins, and the export with its docs decoded. */
const shown = async (convo: Conversation, texts: readonly string[]) => {
  let exported = 0
  for await (const line of convo.export()) {
    exported += inText(line, texts)
    const record = JSON.parse(line) as Partial<ExportDoc>
    if (record.type === 'doc' && typeof record.update === 'string')
      exported += occurrences(base64(record.update), texts)
  }
  return {
    views: inText(JSON.stringify(convo.messages()), texts),
    pins: inText(JSON.stringify(convo.pins()), texts),
    exported,
  }
}

/** Every byte a device's storage holds for the conversation: doc rows and outbox entries. */
const stored = async (storage: MemoryStorage, texts: readonly string[]) => {
  let n = 0
  for (const { doc } of await storage.listDocs('room'))
    for (const row of await storage.load(doc)) n += occurrences(row.update, texts)
  for (const entry of await storage.outbox()) n += occurrences(entry.update, texts)
  return n
}

/** Pins of a deleted or missing message, or whose body is not the message's current body. */
const stalePins = (convo: Conversation): string[] => {
  const messages = new Map(convo.messages().map((m) => [m.id as string, m]))
  return convo.pins().flatMap((p) => {
    const m = messages.get(p.id)
    if (!m) return [`pin of ${p.id}, a message not shown`]
    if (m.deleted) return [`pin of deleted ${p.id}`]
    return jsonEqual(p.body, m.body)
      ? []
      : [`pin of ${p.id} shows ${JSON.stringify(p.body)}, message ${JSON.stringify(m.body)}`]
  })
}

interface Outcome {
  readonly seed: number
  readonly plan: Plan
  /** Deleted text users can see, per place, summed over devices, before and after paging in history. */
  readonly seen: { views: number; pins: number; exported: number }
  readonly stale: readonly string[]
  /** Pinned at the end when some pin was never unpinned by a device that saw it, and no delete. */
  readonly pinLost: boolean
  readonly hubBytes: number
  readonly deviceBytes: readonly number[]
  readonly diverged: readonly string[]
}

/**
 * Alice (two devices) wrote a message that all three devices hold; each device is cut off, then
 * at once Alice's first device edits it, her second deletes it, and Bob pins, unpins and re-pins
 * it (per the seed's plan); the devices come back and the network settles.
 */
const scenario = async (seed: number): Promise<Outcome> => {
  const random = prng(seed)
  const p = plan(random)
  const net = createSimulatedNetwork({ seed, client: { firstScreen: 5, pageSize: 5 } })
  const storages = [memoryStorage(), memoryStorage(), memoryStorage()]
  const devices: SimulatedDevice[] = [
    await net.device('alice', { periodMs: PERIOD_MS, storage: storages[0]! }),
    await net.device('alice', { periodMs: PERIOD_MS, storage: storages[1]! }),
    await net.device('bob', { periodMs: PERIOD_MS, storage: storages[2]! }),
  ]
  const [a1, a2, bob] = devices as [SimulatedDevice, SimulatedDevice, SimulatedDevice]
  const room = (d: SimulatedDevice) => d.client.open('room')
  const texts = [
    `secret ${seed} original`,
    `secret ${seed} edit 1`,
    `secret ${seed} edit 2`,
    `secret ${seed} edit 3`,
  ]

  const raced = await (await room(a1)).send({ text: texts[0] })
  await net.settle()
  await (await room(bob)).send({ text: 'a reply from Bob' }, { replyTo: raced.id })
  await net.settle()
  if (p.prePinned) await (await room(bob)).pin(raced.id)
  await net.settle()

  for (const d of devices) {
    if (p.cut === 'partition') net.partition(d, 'server')
    else net.offline(d)
  }
  // Alice's steps in an order drawn per seed, Bob's in his plan's order between them; each step a
  // few virtual seconds after the last, so the stamps interleave.
  const alice: (() => Promise<unknown>)[] = []
  for (let i = 1; i <= p.edits; i++)
    alice.push(async () => (await room(a1)).edit(raced.id, { text: texts[i] }))
  if (p.alicePins) alice.push(async () => (await room(a1)).pin(raced.id))
  if (p.deletes) alice.push(async () => (await room(a2)).delete(raced.id))
  if (p.secondEdit) alice.push(async () => (await room(a2)).edit(raced.id, { text: texts[3] }))
  const steps = shuffle(random, alice)
  let from = 0
  for (const op of p.bob) {
    const at = from + Math.floor(random() * (steps.length - from + 1))
    steps.splice(at, 0, async () => {
      const convo = await room(bob)
      await (op === 'pin' ? convo.pin(raced.id) : convo.unpin(raced.id))
    })
    from = at + 1
  }
  for (const step of steps) {
    await step()
    net.advance(Math.floor(random() * 5_000))
  }
  net.note(`race of ${raced.id}: ${JSON.stringify(p)}`)

  // Chat goes on in a later period while they are apart.
  net.advance(PERIOD_MS + Math.floor(random() * PERIOD_MS))
  for (let i = 0; i < 6; i++) await (await room(pick(random, devices)!)).send({ text: `later ${i}` })

  if (p.cut === 'partition') net.heal()
  else for (const d of shuffle(random, devices)) net.online(d)
  await net.settle()
  for (const i of p.restart) await net.restart(devices[i]!)
  await net.settle()

  const seen = { views: 0, pins: 0, exported: 0 }
  const stale: string[] = []
  const add = (s: typeof seen) => {
    seen.views += s.views
    seen.pins += s.pins
    seen.exported += s.exported
  }
  // Deleted text counts only when the message was deleted; stale pins count always.
  const deletedTexts = p.deletes ? texts : []
  for (const d of devices) add(await shown(await room(d), deletedTexts))
  for (const d of devices) while (await (await room(d)).loadOlder()) {}
  await net.settle()
  for (const d of devices) {
    const convo = await room(d)
    add(await shown(convo, deletedTexts))
    stale.push(...stalePins(convo).map((s) => `${d.name}: ${s}`))
  }
  // Pins written during the race survive unless an unpin saw them or the message was deleted.
  const bobLast = p.bob.at(-1) ?? (p.prePinned ? 'pin' : undefined)
  const shouldPin = !p.deletes && (p.alicePins || bobLast === 'pin')
  const pinned = await Promise.all(
    devices.map(async (d) => (await room(d)).pins().some((x) => x.id === raced.id)),
  )
  const diverged = await assertConverged(net, 'room').then(
    () => [],
    (error: Error) => [error.message],
  )
  let hubBytes = 0
  for (const update of net.hub.docs.values()) hubBytes += occurrences(update, deletedTexts)
  await net.close()
  const deviceBytes = await Promise.all(storages.map((s) => stored(s.reopen(), deletedTexts)))
  return {
    seed,
    plan: p,
    seen,
    stale,
    pinLost: shouldPin && pinned.some((x) => !x),
    hubBytes,
    deviceBytes,
    diverged,
  }
}

describe('fault matrix: pins, edits and deletes of one message at once', () => {
  it(
    'leaves no deleted text in what users see and no stale pin',
    async () => {
      const outcomes: Outcome[] = []
      for (let seed = 1; seed <= SEEDS; seed++) outcomes.push(await scenario(seed))
      const sum = (f: (o: Outcome) => number) => outcomes.reduce((n, o) => n + f(o), 0)
      const deleting = outcomes.filter((o) => o.plan.deletes)
      const stale = outcomes.flatMap((o) => o.stale.map((s) => `seed ${o.seed}: ${s}`))
      row(
        'pins, edits and deletes of one message at once on 3 devices',
        `deleted content shown ${sum((o) => o.seen.views + o.seen.pins)}, in exports ${sum((o) => o.seen.exported)}, ` +
          `stale pins ${stale.length}, pins lost ${outcomes.filter((o) => o.pinLost).length} over ${SEEDS} seeds (${deleting.length} with a delete); ` +
          `deleted text still in stored bytes: hub ${deleting.filter((o) => o.hubBytes > 0).length}/${deleting.length}, ` +
          `devices ${deleting.filter((o) => o.deviceBytes.some((n) => n > 0)).length}/${deleting.length} ` +
          `(${sum((o) => o.deviceBytes.filter((n) => n > 0).length)} of ${deleting.length * 3} device stores)`,
      )
      const leaks = outcomes
        .filter((o) => o.seen.views + o.seen.pins + o.seen.exported > 0)
        .map((o) => `seed ${o.seed}: ${JSON.stringify(o.seen)} with ${JSON.stringify(o.plan)}`)
      expect(leaks, 'deleted text users can see').toEqual([])
      expect(stale, 'stale pins').toEqual([])
      expect(
        outcomes.filter((o) => o.pinLost).map((o) => `seed ${o.seed}: ${JSON.stringify(o.plan)}`),
      ).toEqual([])
      expect(outcomes.flatMap((o) => o.diverged)).toEqual([])
    },
    30_000 + SEEDS * 1_000,
  )
})
