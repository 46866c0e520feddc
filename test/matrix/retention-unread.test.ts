import { compareStamps, isTidingsError, type Message, type Priority, type Stamp } from '@tidings/core'
import { assertConverged, createSimulatedNetwork, prng, type SimulatedDevice } from '@tidings/testing'
import { describe, expect, it } from 'vitest'
import { row, seedCount } from './report.js'
import { pick, ticks } from './steps.js'

const SEEDS = seedCount(20)
const HOUR = 60 * 60 * 1000
const PERIOD_MS = HOUR
/** Operations per seed, a few virtual minutes apart: about ten hours, ten periods. */
const OPS = 110

/** What the test knows of a message from its own `send`: enough to order it and find its period. */
interface Sent {
  readonly id: string
  readonly author: string
  readonly device: string
  readonly seq: number
  readonly stamp: Stamp
}

/** Display order, computed here from the stamps `send` returned: (stamp, device, seq). */
const byDisplayOrder = (a: Sent, b: Sent) =>
  compareStamps(a.stamp, b.stamp) || (a.device < b.device ? -1 : a.device > b.device ? 1 : 0) || a.seq - b.seq

const periodEnd = (m: Sent) => (Math.floor(m.stamp.wall / PERIOD_MS) + 1) * PERIOD_MS

interface Ledger {
  readonly sent: Map<string, Sent>
  readonly deleted: Set<string>
  /** Per user, every message some device of theirs covered with `markRead`. */
  readonly read: Map<string, Set<string>>
  retainedFrom: number
  counts: { reads: number; moves: number; late: number }
}

/**
 * Unread for `user` from the ledger alone: other users' messages, not deleted, in a period that
 * ends after `retainedFrom` (replicas drop whole periods), never covered by a read of theirs.
 */
const expectedUnread = (ledger: Ledger, user: string): Set<string> => {
  const read = ledger.read.get(user) ?? new Set()
  const unread = new Set<string>()
  for (const m of ledger.sent.values()) {
    if (m.author === user || ledger.deleted.has(m.id) || read.has(m.id)) continue
    if (periodEnd(m) > ledger.retainedFrom) unread.add(m.id)
  }
  return unread
}

/** How often each operation is drawn. */
const WEIGHTS = { send: 45, read: 20, delete: 5, older: 4, retention: 6, toggle: 12, restart: 5 }

const PRIORITIES: readonly Priority[] = ['normal', 'normal', 'normal', 'high', 'low', 'urgent']

interface Outcome {
  readonly seed: number
  readonly devices: number
  readonly messages: number
  readonly unread: number
  /** Unread messages stamped before `retainedFrom` in a period that ends after it (kept, so counted). */
  readonly straddling: number
  readonly miscounts: readonly string[]
  /** `assertConverged` failures, seed and steps included. */
  readonly diverged: readonly string[]
  readonly counts: Ledger['counts']
}

/**
 * Three users on five devices with one-hour periods: Alice's first device is the admin that moves
 * retention, Carol's second device runs hours slow (its messages land in old periods, some below
 * retention). Devices send, read, delete their own messages, page back, go offline and restart;
 * retention moves forward now and then, also while devices are offline.
 */
const scenario = async (seed: number): Promise<Outcome> => {
  const random = prng(seed)
  // A short first screen: a restarted device leaves older periods unloaded, and late messages land there.
  const net = createSimulatedNetwork({ seed, client: { firstScreen: 10, pageSize: 10 } })
  const slow = -(2 * HOUR + Math.floor(random() * 3 * HOUR))
  const admin = await net.device('alice', { periodMs: PERIOD_MS })
  const devices: SimulatedDevice[] = [
    admin,
    await net.device('alice', { periodMs: PERIOD_MS }),
    await net.device('bob', { periodMs: PERIOD_MS }),
    await net.device('carol', { periodMs: PERIOD_MS }),
    await net.device('carol', { periodMs: PERIOD_MS, skewMs: slow, online: random() < 0.5 }),
  ]
  const late = devices[4]!
  const room = (d: SimulatedDevice) => d.client.open('room')
  const ledger: Ledger = {
    sent: new Map(),
    deleted: new Set(),
    read: new Map(),
    retainedFrom: 0,
    counts: { reads: 0, moves: 0, late: 0 },
  }
  const record = (m: Message) => {
    const seq = Number(m.id.slice(m.id.indexOf('.') + 1))
    ledger.sent.set(m.id, { id: m.id, author: m.author, device: m.device, seq, stamp: m.stamp })
  }

  const ops: Record<keyof typeof WEIGHTS, (d: SimulatedDevice) => Promise<void>> = {
    async send(d) {
      const convo = await room(d)
      const m = await convo.send({ text: `m${ledger.sent.size}` }, { priority: pick(random, PRIORITIES)! })
      record(m)
      if (d === late) ledger.counts.late++
    },
    async read(d) {
      const convo = await room(d)
      const loaded = convo.messages()
      const target = pick(random, loaded)
      if (!target) return
      // Covers what this device has loaded up to the target, in the order the ledger computes.
      const upTo = ledger.sent.get(target.id)!
      const covered = loaded.map((m) => ledger.sent.get(m.id)!).filter((m) => byDisplayOrder(m, upTo) <= 0)
      await convo.markRead(target.id)
      const read = ledger.read.get(d.user) ?? new Set()
      for (const m of covered) read.add(m.id)
      ledger.read.set(d.user, read)
      ledger.counts.reads++
    },
    async delete(d) {
      const convo = await room(d)
      const own = convo.messages().filter((m) => m.author === d.user && !m.deleted)
      const target = pick(random, own)
      if (!target) return
      // Its other device may have deleted it a moment ago: then it is deleted all the same.
      await convo.delete(target.id).catch((error) => {
        if (!isTidingsError(error, 'input/invalid')) throw error
      })
      ledger.deleted.add(target.id)
    },
    async older(d) {
      await (await room(d)).loadOlder()
    },
    async retention() {
      // Now and then exactly on a period boundary; mostly inside a period.
      const back = HOUR + Math.floor(random() * 4 * HOUR)
      const to = random() < 0.3 ? Math.floor((net.now - back) / PERIOD_MS) * PERIOD_MS : net.now - back
      if (to <= ledger.retainedFrom) return
      await (await room(admin)).setRetainedFrom(to)
      ledger.retainedFrom = to
      ledger.counts.moves++
    },
    async toggle(d) {
      if (d.online) net.offline(d)
      else net.online(d)
    },
    async restart(d) {
      await net.restart(d)
    },
  }
  const names = Object.keys(WEIGHTS) as (keyof typeof WEIGHTS)[]
  const total = names.reduce((n, k) => n + WEIGHTS[k], 0)
  const draw = () => {
    let r = random() * total
    for (const name of names) {
      r -= WEIGHTS[name]
      if (r < 0) return name
    }
    return names[0]!
  }
  await net.settle()
  for (let i = 0; i < OPS; i++) {
    const name = draw()
    const d = name === 'retention' ? admin : pick(random, devices)!
    net.note(`op ${i}: ${name} on ${d.name}`)
    await ops[name](d)
    net.advance(Math.floor(2 * 60_000 + random() * 8 * 60_000))
    // Mostly a few real ticks, so frames are still in flight at the next operation.
    if (i % 8 === 7) await net.settle()
    else await ticks()
  }
  for (const d of devices) if (!d.online) net.online(d)
  await net.settle()

  // Read back what each device shows against the ledger.
  const miscounts: string[] = []
  let unread = 0
  let straddling = 0
  for (const d of devices) {
    const convo = await room(d)
    const shown: string[] = convo.unreadIds()
    const expected = expectedUnread(ledger, d.user)
    const count = d.client.conversations().find((c) => c.id === 'room')?.unread
    unread += expected.size
    straddling += [...expected].filter((id) => ledger.sent.get(id)!.stamp.wall < ledger.retainedFrom).length
    const extra = shown.filter((id) => !expected.has(id))
    const missing = [...expected].filter((id) => !shown.includes(id))
    const describe = (id: string) => {
      const m = ledger.sent.get(id)
      return `${id} (by ${m?.author}, stamp ${m && new Date(m.stamp.wall).toISOString()}${ledger.deleted.has(id) ? ', deleted' : ''}${ledger.read.get(d.user)?.has(id) ? ', read' : ''})`
    }
    if (extra.length > 0) miscounts.push(`${d.name} counts ${extra.map(describe).join(', ')}`)
    if (missing.length > 0) miscounts.push(`${d.name} misses ${missing.map(describe).join(', ')}`)
    if (count !== shown.length)
      miscounts.push(`${d.name} conversations() says ${count}, unreadIds ${shown.length}`)
    const dropped = shown.filter((id) => {
      const m = ledger.sent.get(id)
      return m !== undefined && periodEnd(m) <= convo.retainedFrom
    })
    if (dropped.length > 0) miscounts.push(`${d.name} counts ${dropped.length} below retainedFrom`)
  }
  // Then every replica shows the same conversation (it pages in all history first).
  const diverged = await assertConverged(net, 'room').then(
    () => [],
    (error: Error) => [error.message],
  )
  const outcome = {
    seed,
    diverged,
    devices: devices.length,
    messages: ledger.sent.size,
    unread,
    straddling,
    miscounts: miscounts.map(
      (m) => `seed ${seed}, retainedFrom ${new Date(ledger.retainedFrom).toISOString()}: ${m}`,
    ),
    counts: ledger.counts,
  }
  if (miscounts.length > 0) console.log(`seed ${seed} steps:\n${net.trace.slice(-40).join('\n')}`)
  await net.close()
  return outcome
}

describe('fault matrix: unread counts while retention moves', () => {
  it(
    'counts exactly the unread messages of retained periods on every device',
    async () => {
      const outcomes: Outcome[] = []
      for (let seed = 1; seed <= SEEDS; seed++) outcomes.push(await scenario(seed))
      const sum = (f: (o: Outcome) => number) => outcomes.reduce((n, o) => n + f(o), 0)
      const miscounts = outcomes.flatMap((o) => o.miscounts)
      row(
        'retention moves with unread messages',
        `unread counts exact on ${outcomes[0]?.devices} devices × ${SEEDS} seeds; miscounts ${miscounts.length} ` +
          `(${sum((o) => o.messages)} messages, ${sum((o) => o.counts.late)} from a clock hours slow, ` +
          `${sum((o) => o.counts.reads)} reads, ${sum((o) => o.counts.moves)} retention moves, ` +
          `${sum((o) => o.unread)} unread expected, ${sum((o) => o.straddling)} of them stamped before ` +
          'retainedFrom in a period that ends after it)',
      )
      expect(miscounts.slice(0, 10), `${miscounts.length} miscounts`).toEqual([])
      expect(outcomes.flatMap((o) => o.diverged)).toEqual([])
    },
    30_000 + SEEDS * 3_000,
  )
})
