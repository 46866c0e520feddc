import type { Conversation, Priority } from '@tidings/core'
import { assertConverged, createSimulatedNetwork, type LinkConditions, prng } from '@tidings/testing'
import { describe, expect, it } from 'vitest'
import { row, seedCount } from './report.js'
import { ticks } from './steps.js'

const SEEDS = seedCount(20)
const LATENCY_MS: readonly [number, number] = [5, 40]
/** 8 kB/s each way: a backlog of a few hundred messages drains for seconds. */
const THROTTLED: LinkConditions = { bytesPerSecond: 8_000, latencyMs: LATENCY_MS, duplicate: 0.02 }
const UNLIMITED: LinkConditions = { latencyMs: LATENCY_MS, duplicate: 0.02 }
/** Virtual ms between looks at the peer while the backlog drains. */
const STEP_MS = 10
/** Virtual time the drain may take at most before the run counts as stuck. */
const DRAIN_LIMIT_MS = 10 * 60_000
/** Bytes a frame costs beyond its update on a simulated link (FRAME_OVERHEAD in link.ts). */
const FRAME_OVERHEAD = 32
/** A message's update beyond its text: the record's other fields and Yjs framing (well under this). */
const RECORD_BYTES = 256

interface Written {
  readonly id: string
  readonly priority: Priority
  /** Virtual time of the write. */
  readonly at: number
  /** Written while the sender was offline: the backlog its reconnect sends. */
  readonly backlog: boolean
}

interface Arrival {
  /** Position in the order the peer first showed messages. */
  readonly rank: number
  readonly at: number
}

type Arrivals = ReadonlyMap<string, Arrival>

/** Priorities drawn for the backlog: mostly normal and low, urgent ones in between. */
const draw = (random: () => number): Priority => {
  const r = random()
  return r < 0.12 ? 'urgent' : r < 0.3 ? 'high' : r < 0.65 ? 'normal' : 'low'
}

/** Records the order in which `convo` first shows each message, and when (virtual time). */
const recordArrivals = (convo: Conversation, now: () => number) => {
  const arrivals = new Map<string, Arrival>()
  const look = () => {
    for (const m of convo.messages())
      if (!arrivals.has(m.id)) arrivals.set(m.id, { rank: arrivals.size, at: now() })
  }
  look()
  return { arrivals, stop: convo.subscribe(look) }
}

const isUrgent = (w: Written) => w.priority === 'urgent'
const isNormalOrLow = (w: Written) => w.priority === 'normal' || w.priority === 'low'

/**
 * Pairs (urgent u, normal-or-low n) that `queued` says were queued together, and those of them
 * whose n the peer showed before u.
 */
const check = (
  written: readonly Written[],
  arrivals: Arrivals,
  queued: (u: Written, n: Written, i: number, j: number) => boolean,
) => {
  const violations: string[] = []
  let pairs = 0
  for (const [i, u] of written.entries()) {
    if (!isUrgent(u)) continue
    for (const [j, n] of written.entries()) {
      if (!isNormalOrLow(n) || !queued(u, n, i, j)) continue
      pairs++
      if (arrivals.get(n.id)!.rank < arrivals.get(u.id)!.rank)
        violations.push(`${n.id} (${n.priority}) shown before urgent ${u.id}`)
    }
  }
  return { violations, pairs }
}

interface Outcome {
  readonly seed: number
  readonly written: readonly Written[]
  readonly violations: readonly string[]
  /** Messages a peer never showed, replicas that differ: seed and steps included. */
  readonly problems: readonly string[]
  /** Pairs checked: on the sender's reconnect, written mid-drain, on a peer's own reconnect. */
  readonly pairs: { readonly reconnect: number; readonly midDrain: number; readonly catchUp: number }
}

/**
 * Alice chats, goes offline and writes a backlog of interleaved urgent, high, normal and low
 * messages, then comes back through a throttled link; while the backlog drains she writes more,
 * urgent ones among them. Bob, online all along (his link throttled on some seeds), records what
 * he shows first. Carol is offline throughout and catches up at the end, on a throttled or an
 * unlimited link: everything was queued for her at once.
 */
const scenario = async (seed: number): Promise<Outcome> => {
  const random = prng(seed)
  const net = createSimulatedNetwork({ seed })
  const alice = await net.device('alice')
  const bob = await net.device('bob', { link: random() < 0.5 ? THROTTLED : UNLIMITED })
  const carol = await net.device('carol', { online: false, link: random() < 0.5 ? THROTTLED : UNLIMITED })
  const sending = await alice.client.open('room')
  const bobSees = recordArrivals(await bob.client.open('room'), () => net.now)
  const carolsRoom = await carol.client.open('room')

  const written: Written[] = []
  let longest = 0
  const write = async (priority: Priority, backlog: boolean) => {
    const text = `${priority} ${written.length} ${'x'.repeat(20 + Math.floor(random() * 180))}`
    longest = Math.max(longest, text.length)
    const m = await sending.send({ text }, { priority })
    written.push({ id: m.id, priority, at: net.now, backlog })
  }

  // Normal and low docs exist before the first urgent one: a server must not send in creation order.
  await write('normal', false)
  await write('low', false)
  await net.settle()
  net.offline(alice)
  const backlog = 60 + Math.floor(random() * 120)
  for (let i = 0; i < backlog; i++) await write(draw(random), true)
  net.link(alice, THROTTLED)
  net.online(alice)

  // Moments (share of the backlog Bob shows) at which Alice writes again while it drains.
  const shown = () => written.filter((w) => w.backlog && bobSees.arrivals.has(w.id)).length
  const deadline = net.now + DRAIN_LIMIT_MS
  for (const moment of [0.15 + random() * 0.2, 0.5 + random() * 0.3]) {
    while (shown() < moment * backlog) {
      if (net.now > deadline) throw new Error(`seed ${seed}: the backlog stopped draining at ${shown()}`)
      net.advance(STEP_MS)
      await ticks()
    }
    const before = 1 + Math.floor(random() * 4)
    for (let i = 0; i < before; i++) await write(random() < 0.5 ? 'normal' : 'low', false)
    await write('urgent', false)
    if (random() < 0.5) await write('urgent', false)
    for (let i = 0; i < 2; i++) await write(random() < 0.5 ? 'normal' : 'low', false)
  }
  await net.settle()
  bobSees.stop()

  const carolSees = recordArrivals(carolsRoom, () => net.now)
  net.online(carol)
  await net.settle()
  carolSees.stop()

  // Every message must show everywhere before order means anything: a failure here is reported
  // with the seed, and this seed's order is not checked.
  const problems: string[] = []
  for (const [name, seen] of [
    ['Bob', bobSees.arrivals],
    ['Carol', carolSees.arrivals],
  ] as const) {
    const missing = written.filter((w) => !seen.has(w.id)).map((w) => w.id)
    if (missing.length > 0) problems.push(`seed ${seed}: ${name} never showed ${missing.join(', ')}`)
  }
  await assertConverged(net, 'room').catch((error: Error) => problems.push(error.message))
  await net.close()
  if (problems.some((p) => p.includes('never showed')))
    return { seed, written, problems, violations: [], pairs: { reconnect: 0, midDrain: 0, catchUp: 0 } }

  // Written mid-drain, u cannot overtake a frame already on the wire (one per throttled hop, plus
  // the hop's latency), nor urgent ones written before it; while it waits for those, the next hop
  // may start a normal frame that reached the server earlier. A normal or low message counts as
  // queued with u when Bob showed it after all that time.
  const hopMs = ((longest + RECORD_BYTES + FRAME_OVERHEAD) * 1000) / THROTTLED.bytesPerSecond! + LATENCY_MS[1]
  const shownAt = (w: Written) => bobSees.arrivals.get(w.id)!.at
  const unavoidable = (u: Written, i: number) => {
    const ahead = written.slice(0, i).filter((w) => isUrgent(w) && shownAt(w) > u.at).length
    return 2 * hopMs * (1 + ahead)
  }
  const reconnect = check(written, bobSees.arrivals, (u, n) => u.backlog && n.backlog)
  const midDrain = check(
    written,
    bobSees.arrivals,
    (u, n, i, j) => !u.backlog && j < i && shownAt(n) > u.at + unavoidable(u, i),
  )
  const catchUp = check(written, carolSees.arrivals, () => true)
  const tag = (where: string) => (v: string) => `seed ${seed}, ${where}: ${v}`
  return {
    seed,
    written,
    problems,
    violations: [
      ...reconnect.violations.map(tag("Alice's reconnect")),
      ...midDrain.violations.map(tag('written mid-drain')),
      ...catchUp.violations.map(tag("Carol's reconnect")),
    ],
    pairs: { reconnect: reconnect.pairs, midDrain: midDrain.pairs, catchUp: catchUp.pairs },
  }
}

describe('fault matrix: priority on a throttled link', () => {
  it(
    'shows every urgent message before any normal or low one queued with it',
    async () => {
      const outcomes: Outcome[] = []
      for (let seed = 1; seed <= SEEDS; seed++) outcomes.push(await scenario(seed))
      const violations = outcomes.flatMap((o) => o.violations)
      const sum = (f: (o: Outcome) => number) => outcomes.reduce((n, o) => n + f(o), 0)
      const urgent = sum((o) => o.written.filter(isUrgent).length)
      row(
        'throttled link, mixed priorities',
        `urgent-first violations ${violations.length} (${urgent} urgent among ` +
          `${sum((o) => o.written.length)} messages, ${SEEDS} seeds; pairs checked: ` +
          `${sum((o) => o.pairs.reconnect)} on the sender's reconnect, ${sum((o) => o.pairs.midDrain)} ` +
          `written mid-drain, ${sum((o) => o.pairs.catchUp)} on a peer's own reconnect)`,
      )
      expect(violations.slice(0, 20), `${violations.length} violations`).toEqual([])
      expect(outcomes.flatMap((o) => o.problems)).toEqual([])
    },
    30_000 + SEEDS * 3_000,
  )
})
