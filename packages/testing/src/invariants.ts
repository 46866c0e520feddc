import { type Conversation, type Message, type MessageId, parseMessageId } from '@tidings/core'
import { assertConverged, replay } from './assert.js'
import type { SimulatedDevice, SimulatedNetwork } from './network-types.js'
import { type RunRecord, sentKey } from './runner.js'

/** Thrown when an invariant of DESIGN.md fails: lists each violation, the seed and the steps. */
export class InvariantError extends Error {
  override readonly name = 'InvariantError'
  constructor(
    message: string,
    readonly violations: readonly string[],
    readonly seed: number,
  ) {
    super(message)
  }
}

/** What a finished run measured: the figures a fault matrix prints. */
export interface Figures {
  readonly devices: number
  readonly conversations: number
  /** Messages whose `send()` resolved. */
  readonly acknowledged: number
  /** Acknowledged messages missing from a replica after the final sync (retention aside). */
  readonly lost: number
  /** Messages shown twice, under one id or as a second copy of one send. */
  readonly duplicates: number
  /** Messages missing inside the span a device had loaded (a gap in its window). */
  readonly hidden: number
  /** Pins of deleted messages, or pins whose body is not the message's latest. */
  readonly stalePins: number
  /** Reads that came undone: a message once read by a user shown unread to that user again. */
  readonly readRegressions: number
  /** Messages still pending after everyone reconnected. */
  readonly pending: number
  /** Replies before their parents, or a device's own messages out of their order. */
  readonly orderViolations: number
  /** Acknowledged messages a device showed as pending again. */
  readonly statusRegressions: number
  /** Edits the editing device did not show right after `edit()` resolved. */
  readonly editsLost: number
  /** Devices of one user that disagreed on `unreadIds` before paging back through the history. */
  readonly unreadMismatches: number
}

/** Statuses in the order a message moves through them; `expired` stands apart. */
const STATUS_RANK: Partial<Record<Message['status'], number>> = { pending: 0, sent: 1, delivered: 2, read: 3 }

type Counts = { -readonly [K in keyof Figures]: Figures[K] }

const conversations = async (net: SimulatedNetwork, device: SimulatedDevice): Promise<Conversation[]> =>
  Promise.all(net.conversations.map((id) => device.client.open(id)))

/** The unique text a schedule sends; edits replace it, so only originals count for duplicates. */
const sentText = (m: Message) => {
  const text = (m.body as { text?: unknown } | null)?.text
  return typeof text === 'string' && /^m\d+ from /.test(text) ? text : undefined
}

/** Checks one device's view of one conversation; adds each violation to `found` and its count. */
const checkView = (
  device: SimulatedDevice,
  convo: Conversation,
  record: RunRecord,
  counts: Counts,
  found: string[],
) => {
  const where = `${device.name} in "${convo.id}"`
  const view = convo.messages()
  const position = new Map<string, number>()
  const texts = new Set<string>()
  for (const [i, m] of view.entries()) {
    const text = sentText(m)
    if (position.has(m.id) || (text !== undefined && texts.has(text))) {
      counts.duplicates++
      found.push(`${where}: ${m.id} shown twice`)
    }
    position.set(m.id, i)
    if (text !== undefined) texts.add(text)
  }
  const lastSeq = new Map<string, number>()
  for (const m of view) {
    if (m.replyTo && position.has(m.replyTo) && position.get(m.replyTo)! > position.get(m.id)!) {
      counts.orderViolations++
      found.push(`${where}: reply ${m.id} before its parent ${m.replyTo}`)
    }
    if (record.sent.get(sentKey(convo.id, m.id))?.aheadReply) continue
    const { device: author, seq } = parseMessageId(m.id)!
    if (seq <= (lastSeq.get(author) ?? 0)) {
      counts.orderViolations++
      found.push(`${where}: ${m.id} shown after a later message of its device`)
    }
    lastSeq.set(author, seq)
  }
  const read = record.read.get(`${device.name} ${convo.id}`) ?? new Set<MessageId>()
  record.read.set(`${device.name} ${convo.id}`, read)
  for (const m of view) {
    if (m.author === device.user || m.deleted) continue
    if (convo.readBy(m.id).includes(device.user)) read.add(m.id)
    else if (read.has(m.id)) {
      counts.readRegressions++
      read.delete(m.id)
      found.push(`${where}: ${m.id} was read by ${device.user} and is unread again`)
    }
  }
  for (const m of view) {
    const rank = STATUS_RANK[m.status]
    if (rank === undefined) continue
    const key = `${device.name} ${convo.id} ${m.id}`
    const highest = record.statuses.get(key) ?? -1
    // Only a return to pending is a regression: delivered and read fall back when a member joins.
    if (rank === 0 && highest > 0) {
      counts.statusRegressions++
      found.push(`${where}: ${m.id} went back to ${m.status}`)
    }
    record.statuses.set(key, Math.max(rank, highest))
  }
  for (const pin of convo.pins()) {
    const m = view.find((x) => x.id === pin.id)
    if (m?.deleted || (m && JSON.stringify(m.body) !== JSON.stringify(pin.body))) {
      counts.stalePins++
      found.push(`${where}: pin of ${pin.id} ${m.deleted ? 'outlived its delete' : 'shows an old body'}`)
    }
  }
}

const zero = (net: SimulatedNetwork, record: RunRecord): Counts => ({
  devices: net.devices.length,
  conversations: net.conversations.length,
  acknowledged: record.sent.size,
  lost: 0,
  duplicates: 0,
  hidden: 0,
  stalePins: 0,
  readRegressions: 0,
  pending: 0,
  orderViolations: 0,
  statusRegressions: 0,
  editsLost: record.violations.length,
  unreadMismatches: 0,
})

const fail = (net: SimulatedNetwork, title: string, found: string[], causes: string[] = []) => {
  const listed = found.slice(0, 20).map((v) => `  ${v}`)
  const more = found.length > 20 ? [`  … and ${found.length - 20} more (error.violations)`] : []
  throw new InvariantError([title, ...listed, ...more, ...causes, ...replay(net)].join('\n'), found, net.seed)
}

/**
 * The errors devices reported (`device.errors`), each code once per device with a count: a refusal
 * by the server is the usual reason a message stays pending or goes missing.
 */
const reported = (net: SimulatedNetwork): string[] => {
  const lines: string[] = []
  for (const device of net.devices) {
    const byCode = new Map<string, { message: string; count: number }>()
    for (const error of device.errors) {
      const seen = byCode.get(error.code)
      if (seen) seen.count++
      else byCode.set(error.code, { message: error.message, count: 1 })
    }
    for (const [code, { message, count }] of byCode) {
      lines.push(`  ${device.name}: ${code}${count > 1 ? ` ×${count}` : ''}: ${message}`)
    }
  }
  return lines.length > 0 ? ['Errors the devices reported:', ...lines] : []
}

/**
 * What must hold on every running device at any moment: no message shown twice, replies after
 * their parents, a device's messages in their order, pins that follow their message, and no read
 * that comes undone. Throws an `InvariantError`.
 */
export const checkStep = async (net: SimulatedNetwork, record: RunRecord): Promise<void> => {
  const counts = zero(net, record)
  const found: string[] = [...record.violations]
  for (const device of net.devices.filter((d) => !d.crashed)) {
    for (const convo of await conversations(net, device)) checkView(device, convo, record, counts, found)
  }
  // A pin may trail its message's latest edit until the edit's copy reaches meta: only the end counts it.
  const real = found.filter((v) => !v.includes('shows an old body'))
  if (real.length > 0) fail(net, `Invariants broken after step ${net.trace.length}:`, real)
}

/**
 * Ends a run: heals every partition, restarts crashed devices, makes every link perfect and every
 * device online, settles, loads every period, then checks convergence (`assertConverged`) and the
 * invariants of DESIGN.md: nothing acknowledged lost, nothing pending, no duplicates, no gaps,
 * order, pins, reads. Returns the figures; throws on any violation.
 */
export const finish = async (net: SimulatedNetwork, record: RunRecord): Promise<Figures> => {
  net.note('finish')
  net.heal()
  for (const device of net.devices) {
    if (device.crashed) await net.restart(device)
    net.link(device, {})
    if (!device.online) net.online(device)
  }
  await net.settle()
  const counts = zero(net, record)
  const found: string[] = [...record.violations]
  const windows = new Map<string, string[]>()
  for (const device of net.devices) {
    for (const convo of await conversations(net, device)) {
      windows.set(
        `${device.name} ${convo.id}`,
        convo.messages().map((m) => m.id),
      )
    }
  }
  // Unread counts come from the receipts, not from what is loaded: one user's devices agree on
  // them before anyone pages back (a delete in a period not loaded still takes a message out).
  for (const id of net.conversations) {
    const byUser = new Map<string, { name: string; unread: string }[]>()
    for (const device of net.devices) {
      const unread = JSON.stringify([...(await device.client.open(id)).unreadIds()].sort())
      byUser.set(device.user, [...(byUser.get(device.user) ?? []), { name: device.name, unread }])
    }
    for (const [user, seen] of byUser) {
      if (new Set(seen.map((s) => s.unread)).size <= 1) continue
      counts.unreadMismatches++
      found.push(
        `unreadIds of ${user} in "${id}" before paging back: ${seen.map((s) => `${s.name} ${s.unread}`).join(' | ')}`,
      )
    }
  }
  for (const id of net.conversations) await assertConverged(net, id)
  for (const device of net.devices) {
    for (const convo of await conversations(net, device)) {
      checkView(device, convo, record, counts, found)
      const view = convo.messages()
      const ids = view.map((m) => m.id as string)
      // The window before paging back must be the newest part of the whole, with nothing missing.
      const window = windows.get(`${device.name} ${convo.id}`)!
      const start = window.length === 0 ? ids.length : ids.indexOf(window[0]!)
      const expected = ids.slice(start)
      const missing = expected.filter((id) => !window.includes(id))
      counts.hidden += missing.length
      for (const id of missing) found.push(`${device.name} in "${convo.id}": ${id} missing inside its window`)
      for (const m of view) {
        if (m.status !== 'pending') continue
        counts.pending++
        found.push(`${device.name} in "${convo.id}": ${m.id} still pending`)
      }
      const present = new Set(ids)
      for (const sent of record.sent.values()) {
        if (sent.conversation !== convo.id || present.has(sent.id)) continue
        // Retention drops whole periods below retainedFrom; anything after it must be there.
        if ((Math.floor(sent.sentAt / sent.periodMs) + 1) * sent.periodMs <= convo.retainedFrom) continue
        counts.lost++
        found.push(`${device.name} in "${convo.id}": acknowledged ${sent.id} from ${sent.device} is missing`)
      }
    }
  }
  const causes = counts.pending + counts.lost > 0 ? reported(net) : []
  if (found.length > 0) fail(net, 'Invariants broken at the end of the run:', found, causes)
  return counts
}
