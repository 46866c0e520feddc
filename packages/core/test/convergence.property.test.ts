import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Client,
  type Conversation,
  createClient,
  type LoopbackHub,
  loopbackHub,
  memoryStorage,
  PRIORITIES,
  type StorageAdapter,
  type Timers,
  type Transport,
} from '../src/index.js'
import { reusable } from './helpers.js'

const HOUR = 60 * 60 * 1000
const RUNS = Number(process.env.TIDINGS_PROPERTY_RUNS ?? 500)

/** One step of a run; numbers are picks, reduced modulo whatever they choose from. */
type Op =
  | { op: 'send'; dev: number; priority: number; reply: number | null }
  | { op: 'edit' | 'delete' | 'pin' | 'read'; dev: number; pick: number }
  | { op: 'offline' | 'online' | 'restart' | 'older'; dev: number }
  | { op: 'advance'; ms: number }
  | { op: 'deliver'; picks: number[]; duplicate: boolean }
  /** Several devices pin, edit or delete one message before anything is delivered. */
  | { op: 'race'; devs: number[]; pick: number; acts: number[] }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('send' as const),
      dev: fc.nat(),
      priority: fc.nat(3),
      reply: fc.option(fc.nat()),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('edit' as const), dev: fc.nat(), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), dev: fc.nat(), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('pin' as const), dev: fc.nat(), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('read' as const), dev: fc.nat(), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('race' as const),
      devs: fc.array(fc.nat(), { minLength: 2, maxLength: 4 }),
      pick: fc.nat(),
      acts: fc.array(fc.nat(2), { minLength: 4, maxLength: 4 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constantFrom('offline' as const, 'online' as const), dev: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constantFrom('restart' as const, 'older' as const), dev: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 3 * HOUR }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('deliver' as const),
      picks: fc.array(fc.nat(), { maxLength: 12 }),
      duplicate: fc.boolean(),
    }),
  },
)

const scenarioArb = fc.record({
  devices: fc.integer({ min: 2, max: 5 }),
  users: fc.integer({ min: 1, max: 3 }),
  /** Per-device clock skew in ms: up to a day fast or slow. */
  skews: fc.array(fc.integer({ min: -24 * HOUR, max: 24 * HOUR }), { minLength: 5, maxLength: 5 }),
  seed: fc.integer(),
  ops: fc.array(opArb, { minLength: 1, maxLength: 40 }),
})

/** A seeded PRNG (mulberry32) so ids and clientIDs replay with the fast-check seed. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** Timers fired only when the test says so. */
const manualTimers = () => {
  const due = new Map<number, () => void>()
  let next = 1
  const timers: Timers = {
    setTimeout: (fn) => {
      due.set(next, fn)
      return next++
    },
    clearTimeout: (handle) => void due.delete(handle as number),
  }
  const run = () => {
    const fns = [...due.values()]
    due.clear()
    for (const fn of fns) fn()
    return fns.length
  }
  return { timers, run }
}

interface Device {
  user: string
  storage: StorageAdapter
  client: Client
  link: Transport
  convo: Conversation
  online: boolean
}

const run = async (
  scenario: fc.RandomGenerator extends never
    ? never
    : Awaited<ReturnType<typeof scenarioArb.generate>>['value'],
) => {
  const hub: LoopbackHub = loopbackHub({ manual: true })
  const random = prng(scenario.seed)
  const timers = manualTimers()
  let now = Date.UTC(2026, 2, 1)
  const acknowledged = new Set<string>()
  const devices: Device[] = []

  const start = async (index: number, storage: StorageAdapter, user: string, online: boolean) => {
    const link = hub.transport()
    const skew = scenario.skews[index] ?? 0
    const client = createClient({
      user,
      storage: reusable(storage),
      transport: link,
      clock: { now: () => now + skew },
      random,
      timers: timers.timers,
      receiptDelay: 0,
      periodMs: HOUR,
      firstScreen: 5,
      pageSize: 5,
    })
    const convo = await client.open('prop')
    if (!online) link.disconnect()
    devices[index] = { user, storage, client, link, convo, online }
  }
  for (let i = 0; i < scenario.devices; i++)
    await start(i, memoryStorage(), `user${i % scenario.users}`, true)

  const settle = async () => {
    for (let round = 0; round < 50; round++) {
      const fired = timers.run()
      await hub.flush()
      if (fired === 0 && hub.queue.length === 0 && timers.run() === 0) return
    }
  }

  for (const op of scenario.ops) {
    if (op.op === 'advance') {
      now += op.ms
      continue
    }
    if (op.op === 'deliver') {
      for (const pick of op.picks) {
        if (hub.queue.length === 0) break
        if (op.duplicate) hub.duplicate(pick % hub.queue.length)
        hub.deliver(pick % hub.queue.length)
      }
      await new Promise((resolve) => setTimeout(resolve, 0))
      continue
    }
    if (op.op === 'race') {
      const first = devices[op.devs[0]! % devices.length]!.convo.messages()
      const id = first[op.pick % Math.max(1, first.length)]?.id
      for (const [i, dev] of op.devs.entries()) {
        const d = devices[dev % devices.length]!
        const m = d.convo.messages().find((x) => x.id === id)
        if (!m || m.deleted) continue
        const act = (['pin', 'edit', 'delete'] as const)[op.acts[i]!]
        if (act === 'pin') await d.convo.pin(m.id)
        else if (m.author !== d.user) continue
        else if (act === 'edit') await d.convo.edit(m.id, { raced: i })
        else await d.convo.delete(m.id)
      }
      continue
    }
    const d = devices[op.dev % devices.length]!
    const loaded = d.convo.messages()
    const own = loaded.filter((m) => m.author === d.user && !m.deleted)
    switch (op.op) {
      case 'send': {
        const replyTo =
          op.reply === null || loaded.length === 0 ? undefined : loaded[op.reply % loaded.length]!.id
        const m = await d.convo.send(
          { n: acknowledged.size },
          { priority: PRIORITIES[op.priority]!, ...(replyTo ? { replyTo } : {}) },
        )
        acknowledged.add(m.id)
        break
      }
      case 'edit':
        if (own.length > 0) await d.convo.edit(own[op.pick % own.length]!.id, { edited: op.pick })
        break
      case 'delete':
        if (own.length > 0) await d.convo.delete(own[op.pick % own.length]!.id)
        break
      case 'pin':
        if (loaded.some((m) => !m.deleted))
          await d.convo.pin(
            loaded.filter((m) => !m.deleted)[op.pick % loaded.filter((m) => !m.deleted).length]!.id,
          )
        break
      case 'read':
        if (loaded.length > 0) await d.convo.markRead(loaded[op.pick % loaded.length]!.id)
        break
      case 'offline':
        d.link.disconnect()
        d.online = false
        break
      case 'online':
        d.link.connect({ user: d.user, device: d.client.device! })
        d.online = true
        break
      case 'older':
        await d.convo.loadOlder()
        break
      case 'restart': {
        await d.client.close()
        await start(devices.indexOf(d), d.storage, d.user, d.online)
        break
      }
    }
  }

  // Final full sync: everyone online, every period loaded, every receipt published.
  for (const d of devices) if (!d.online) d.link.connect({ user: d.user, device: d.client.device! })
  await settle()
  for (const d of devices) while (await d.convo.loadOlder()) {}
  await settle()

  const views = devices.map((d) =>
    d.convo.messages().map((m) => ({
      id: m.id,
      author: m.author,
      body: m.body,
      deleted: m.deleted,
      editedAt: m.editedAt,
      priority: m.priority,
      replyTo: m.replyTo,
      sentAt: m.sentAt,
      status: m.status,
      readBy: d.convo.readBy(m.id),
    })),
  )
  for (const view of views.slice(1)) expect(view).toEqual(views[0])
  const pins = devices.map((d) => d.convo.pins())
  for (const p of pins.slice(1)) expect(p).toEqual(pins[0])
  // A pin follows its message: never a deleted one, always the latest edit.
  for (const pin of pins[0]!) {
    const message = views[0]!.find((m) => m.id === pin.id)
    expect(message?.deleted, `pin of deleted ${pin.id}`).not.toBe(true)
    if (message) expect(pin.body, `pin of ${pin.id}`).toEqual(message.body)
  }
  const unread = devices.map((d) => d.convo.unreadIds())
  for (let i = 0; i < devices.length; i++) {
    // Devices of one user share read state: their unread sets agree.
    for (let j = 0; j < devices.length; j++) {
      if (devices[i]!.user === devices[j]!.user) expect(unread[i]).toEqual(unread[j])
    }
  }

  const order = views[0]!
  const position = new Map<string, number>(order.map((m, i) => [m.id, i]))
  for (const id of acknowledged) expect(position.has(id), `acknowledged ${id} is missing`).toBe(true)
  for (const m of order) {
    expect(m.status).not.toBe('pending')
    if (m.replyTo && position.has(m.replyTo))
      expect(position.get(m.replyTo)!).toBeLessThan(position.get(m.id)!)
  }
  const lastSeq = new Map<string, number>()
  for (const m of order) {
    const [device, seq] = [m.id.split('.')[0]!, Number(m.id.split('.')[1])]
    expect(seq, `${device}'s messages out of order`).toBeGreaterThan(lastSeq.get(device) ?? 0)
    lastSeq.set(device, seq)
  }
  for (const d of devices) await d.client.close()
}

describe('convergence (property)', () => {
  it(`converges for 2-5 devices under random ops, delivery order, duplicates and restarts (${RUNS} runs)`, async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, run), {
      numRuns: RUNS,
      ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
      ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
    })
  }, 600_000)
})
