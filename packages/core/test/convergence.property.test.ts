import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Client,
  type Conversation,
  createClient,
  type LoopbackHub,
  loopbackHub,
  MAX_DRIFT,
  memoryStorage,
  PRIORITIES,
  type StorageAdapter,
  TidingsError,
  type Timers,
  type Transport,
} from '../src/index.js'
import { CONVERSATIONS, type Op, prng, type Scenario, scenarioArb } from './convergence-ops.js'
import { reusable } from './helpers.js'

const RUNS = Number(process.env.TIDINGS_PROPERTY_RUNS ?? 200)

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
  convos: Conversation[]
  online: boolean
}

/** What the run knows of a message whose send() resolved. */
interface Sent {
  readonly wall: number
  /** A reply stamped after a parent beyond the replier's drift bound: it may precede its device's earlier messages. */
  readonly aheadReply: boolean
}

/** Codes an API call may refuse with for a reason the run cannot see (a delete not yet delivered). */
const EXPECTED = new Set(['input/invalid', 'message/unknown'])
const tolerate = async (call: () => Promise<unknown>) => {
  try {
    await call()
  } catch (error) {
    if (!(error instanceof TidingsError) || !EXPECTED.has(error.code)) throw error
  }
}

const run = async (scenario: Scenario) => {
  const hub: LoopbackHub = loopbackHub({ manual: true })
  const random = prng(scenario.seed)
  const timers = manualTimers()
  const { periodMs } = scenario
  let now = Date.UTC(2026, 2, 1) + scenario.start
  const sent = CONVERSATIONS.map(() => new Map<string, Sent>())
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
      periodMs,
      firstScreen: 5,
      pageSize: 5,
    })
    const convos: Conversation[] = []
    for (const id of CONVERSATIONS) convos.push(await client.open(id))
    if (!online) link.disconnect()
    devices[index] = { user, storage, client, link, convos, online }
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
      const ids = [...sent[op.conv]!.keys()]
      if (ids.length === 0) continue
      const id = ids[op.pick % ids.length]!
      await Promise.all(
        op.moves.map(async ({ dev, action }) => {
          const d = devices[dev % devices.length]!
          const convo = d.convos[(op as Extract<Op, { conv: number }>).conv]!
          const m = convo.messages().find((x) => x.id === id)
          if (!m || (action !== 'unpin' && m.deleted)) return
          if ((action === 'edit' || action === 'delete') && m.author !== d.user) return
          if (action === 'edit') await tolerate(() => convo.edit(id, { raced: dev }))
          else await tolerate(() => convo[action](id))
        }),
      )
      continue
    }
    const d = devices[op.dev % devices.length]!
    if (op.op === 'offline' || op.op === 'online' || op.op === 'restart') {
      if (op.op === 'offline') {
        d.link.disconnect()
        d.online = false
      } else if (op.op === 'online') {
        d.link.connect({ user: d.user, device: d.client.device! })
        d.online = true
      } else {
        await d.client.close()
        await start(devices.indexOf(d), d.storage, d.user, d.online)
      }
      continue
    }
    const convo = d.convos[(op as Extract<Op, { conv: number }>).conv]!
    const loaded = convo.messages()
    const own = loaded.filter((m) => m.author === d.user && !m.deleted)
    const live = loaded.filter((m) => !m.deleted)
    switch (op.op) {
      case 'send': {
        const parent = op.reply === null || loaded.length === 0 ? undefined : loaded[op.reply % loaded.length]
        const m = await convo.send(
          { n: sent[op.conv]!.size },
          { priority: PRIORITIES[op.priority]!, ...(parent ? { replyTo: parent.id } : {}) },
        )
        const bound = now + (scenario.skews[op.dev % devices.length] ?? 0) + MAX_DRIFT
        sent[op.conv]!.set(m.id, { wall: m.sentAt, aheadReply: parent !== undefined && m.sentAt > bound })
        break
      }
      case 'edit':
        if (own.length > 0) await convo.edit(own[op.pick % own.length]!.id, { edited: op.pick })
        break
      case 'delete':
        if (own.length > 0) await convo.delete(own[op.pick % own.length]!.id)
        break
      case 'pin':
        if (live.length > 0) await convo.pin(live[op.pick % live.length]!.id)
        break
      case 'unpin': {
        const pins = convo.pins()
        if (pins.length > 0) await convo.unpin(pins[op.pick % pins.length]!.id)
        break
      }
      case 'read':
        if (loaded.length > 0) await convo.markRead(loaded[op.pick % loaded.length]!.id)
        break
      case 'retain':
        await convo.setRetainedFrom(Math.max(0, now - op.back * periodMs))
        break
      case 'older':
        await convo.loadOlder()
        break
    }
  }

  // Final full sync: everyone online, every period loaded, every receipt published.
  for (const d of devices) if (!d.online) d.link.connect({ user: d.user, device: d.client.device! })
  await settle()
  for (const d of devices) for (const convo of d.convos) while (await convo.loadOlder()) {}
  await settle()

  for (let c = 0; c < CONVERSATIONS.length; c++) check(devices, c, sent[c]!, periodMs)
  for (const d of devices) await d.client.close()
}

/** Invariants 1-3 of DESIGN.md for one conversation, once every device synced and loaded all. */
const check = (devices: Device[], c: number, sent: Map<string, Sent>, periodMs: number) => {
  const convos = devices.map((d) => d.convos[c]!)
  const views = convos.map((convo) =>
    convo.messages().map((m) => ({
      id: m.id,
      author: m.author,
      body: m.body,
      deleted: m.deleted,
      editedAt: m.editedAt,
      priority: m.priority,
      replyTo: m.replyTo,
      sentAt: m.sentAt,
      status: m.status,
      readBy: convo.readBy(m.id),
    })),
  )
  for (const view of views.slice(1)) expect(view).toEqual(views[0])
  const pins = convos.map((convo) => convo.pins())
  for (const p of pins.slice(1)) expect(p).toEqual(pins[0])
  // A pin follows its message: never a deleted one, always the latest edit.
  for (const pin of pins[0]!) {
    const message = views[0]!.find((m) => m.id === pin.id)
    expect(message?.deleted, `pin of deleted ${pin.id}`).not.toBe(true)
    if (message) expect(pin.body, `pin of ${pin.id}`).toEqual(message.body)
  }
  const retainedFrom = convos[0]!.retainedFrom
  for (const convo of convos) expect(convo.retainedFrom).toBe(retainedFrom)
  const unread = convos.map((convo) => convo.unreadIds())
  for (let i = 0; i < devices.length; i++) {
    // Devices of one user share read state: their unread sets agree.
    for (let j = 0; j < devices.length; j++) {
      if (devices[i]!.user === devices[j]!.user) expect(unread[i]).toEqual(unread[j])
    }
  }

  const order = views[0]!
  const position = new Map<string, number>(order.map((m, i) => [m.id, i]))
  for (const [id, { wall }] of sent) {
    // Retention drops whole periods before retainedFrom; everything else must be there.
    if ((Math.floor(wall / periodMs) + 1) * periodMs <= retainedFrom) continue
    expect(position.has(id), `acknowledged ${id} is missing`).toBe(true)
  }
  for (const m of order) {
    expect(m.status).not.toBe('pending')
    if (m.replyTo && position.has(m.replyTo))
      expect(position.get(m.replyTo)!).toBeLessThan(position.get(m.id)!)
  }
  const lastSeq = new Map<string, number>()
  for (const m of order) {
    if (sent.get(m.id)?.aheadReply) continue
    const [device, seq] = [m.id.split('.')[0]!, Number(m.id.split('.')[1])]
    expect(seq, `${device}'s messages out of order`).toBeGreaterThan(lastSeq.get(device) ?? 0)
    lastSeq.set(device, seq)
  }
}

describe('convergence (property)', () => {
  it(`converges for 2-5 devices, two conversations each, under skewed clocks, short periods, races, retention and restarts (${RUNS} runs)`, async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, run), {
      numRuns: RUNS,
      ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
      ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
    })
  }, 1_800_000)
})
