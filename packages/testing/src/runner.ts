import { type Conversation, MAX_DRIFT, type MessageId, TidingsError } from '@tidings/core'
import type { SimulatedDevice, SimulatedNetwork } from './network-types.js'
import type { Operation } from './operations.js'

/** What the run knows of a message whose `send()` resolved. */
export interface SentMessage {
  readonly id: MessageId
  readonly conversation: string
  /** The sending device's name. */
  readonly device: string
  readonly priority: string
  readonly sentAt: number
  /** Length of the period doc it went into (the sender's). */
  readonly periodMs: number
  readonly replyTo?: MessageId
  /**
   * A reply stamped after a parent that lay beyond the sender's drift bound: it may sort before
   * its device's earlier messages (display order follows the stamp the reply had to take).
   */
  readonly aheadReply: boolean
}

/** What a run did, for the checks after it. */
export interface RunRecord {
  /** Messages whose `send()` resolved, by `sentKey`: durable on their device, never to be lost. */
  readonly sent: Map<string, SentMessage>
  /** Per device name: messages its user was shown as having read, to catch a read that comes undone. */
  readonly read: Map<string, Set<MessageId>>
  /** Highest status each device showed for each message, to catch a status that moves back. */
  readonly statuses: Map<string, number>
  /** Violations an operation saw at once (an edit not shown by the device that made it). */
  readonly violations: string[]
  /** Operations applied, by kind. */
  readonly counts: Map<Operation['op'], number>
}

/** Message ids are unique within a conversation (seqs count per device and conversation). */
export const sentKey = (conversation: string, id: string): string => `${conversation}\n${id}`

export const newRecord = (): RunRecord => ({
  sent: new Map(),
  read: new Map(),
  statuses: new Map(),
  violations: [],
  counts: new Map(),
})

/** Refusals an app sees for reasons the schedule cannot know (a delete it has not received yet). */
const EXPECTED = new Set(['input/invalid', 'message/unknown'])

/** Runs an app call; resolves false when it was refused for an expected reason. */
const tolerate = async (call: () => Promise<unknown>): Promise<boolean> => {
  try {
    await call()
    return true
  } catch (error) {
    if (!(error instanceof TidingsError) || !EXPECTED.has(error.code)) throw error
    return false
  }
}

const nth = <T>(list: readonly T[], n: number): T | undefined =>
  list.length === 0 ? undefined : list[n % list.length]

const live = (net: SimulatedNetwork) => net.devices.filter((d) => !d.crashed)

const open = (device: SimulatedDevice, net: SimulatedNetwork, n: number): Promise<Conversation> =>
  device.client.open(nth(net.conversations, n)!)

/** The body a schedule sends: unique, so a duplicate or a lost message is visible. */
const body = (record: RunRecord, device: SimulatedDevice) => ({
  text: `m${record.sent.size} from ${device.name}`,
})

const race = async (net: SimulatedNetwork, op: Extract<Operation, { op: 'race' }>) => {
  const first = await open(live(net)[0]!, net, op.conversation)
  const target = nth(first.messages(), op.pick)
  if (!target) return net.note(`race in ${first.id}: no message yet`)
  const moves = op.moves.map(({ device, action }) => `${nth(live(net), device)!.name} ${action}`)
  net.note(`race on ${target.id} in ${first.id}: ${moves.join(', ')}`)
  await Promise.all(
    op.moves.map(async ({ device: n, action }) => {
      const device = nth(live(net), n)!
      const convo = await open(device, net, op.conversation)
      const m = convo.messages().find((x) => x.id === target.id)
      if (!m || (action !== 'unpin' && m.deleted)) return
      if ((action === 'edit' || action === 'delete') && m.author !== device.user) return
      if (action === 'edit') await tolerate(() => convo.edit(m.id, { text: `raced by ${device.name}` }))
      else await tolerate(() => convo[action](m.id))
    }),
  )
}

/**
 * Applies one operation to the network's devices as an app would. The trace shows it with the
 * device names and message ids it resolved to: network steps are traced by the network itself,
 * app steps are noted here (`send by user0#1 in room (urgent)`).
 */
export const apply = async (net: SimulatedNetwork, op: Operation, record: RunRecord): Promise<void> => {
  record.counts.set(op.op, (record.counts.get(op.op) ?? 0) + 1)
  switch (op.op) {
    case 'advance':
      return net.advance(op.ms)
    case 'settle':
      net.note('settle')
      return net.settle()
    case 'heal':
      return net.heal()
    case 'race':
      return race(net, op)
  }
  const device = nth(live(net), op.device)
  if (!device) return net.note(`${op.op}: no running device`)
  switch (op.op) {
    case 'offline':
      return net.offline(device)
    case 'online':
      return net.online(device)
    case 'crash':
      await net.crash(device)
      await net.restart(device)
      return
    case 'jump':
      return net.jump(device, op.ms)
    case 'link':
      return net.link(device, op.conditions)
    case 'partition': {
      const other = op.other === 'server' ? 'server' : nth(live(net), op.other)!
      if (other === device) return net.note(`partition of ${device.name} from itself: skipped`)
      return net.partition(device, other, { oneWay: op.oneWay })
    }
  }
  const convo = await open(device, net, op.conversation)
  const loaded = convo.messages()
  const own = loaded.filter((m) => m.author === device.user && !m.deleted)
  const note = (target?: { id: string } | string) => {
    const what = target === undefined ? '' : typeof target === 'string' ? ` ${target}` : ` of ${target.id}`
    net.note(`${op.op}${what} by ${device.name} in ${convo.id}`)
  }
  switch (op.op) {
    case 'send': {
      const parent = op.reply === null ? undefined : nth(loaded, op.reply)
      net.note(
        `send by ${device.name} in ${convo.id} (${op.priority}${parent ? `, reply to ${parent.id}` : ''})`,
      )
      const m = await convo.send(body(record, device), {
        priority: op.priority,
        ...(parent ? { replyTo: parent.id } : {}),
      })
      record.sent.set(sentKey(convo.id, m.id), {
        id: m.id,
        conversation: convo.id,
        device: device.name,
        priority: op.priority,
        sentAt: m.sentAt,
        periodMs: device.periodMs,
        ...(parent ? { replyTo: parent.id } : {}),
        aheadReply: parent !== undefined && m.sentAt > device.now() + MAX_DRIFT,
      })
      return
    }
    case 'edit': {
      const target = nth(own, op.pick)
      note(target ?? '(none of its own)')
      if (!target) return
      const body = {
        text: `edited by ${device.name} at step ${record.sent.size}.${record.violations.length}`,
      }
      if (!(await tolerate(() => convo.edit(target.id, body)))) return
      // The device that edited shows its edit at once, whatever the clocks of earlier editors.
      const shown = convo.messages().find((m) => m.id === target.id)
      if (shown && !shown.deleted && JSON.stringify(shown.body) !== JSON.stringify(body)) {
        record.violations.push(
          `${device.name} in "${convo.id}": its edit of ${target.id} resolved, yet it shows ${JSON.stringify(shown.body)}`,
        )
      }
      return
    }
    case 'delete': {
      const target = nth(own, op.pick)
      note(target ?? '(none of its own)')
      if (target) await tolerate(() => convo.delete(target.id))
      return
    }
    case 'pin': {
      const target = nth(
        loaded.filter((m) => !m.deleted),
        op.pick,
      )
      note(target ?? '(nothing to pin)')
      if (target) await tolerate(() => convo.pin(target.id))
      return
    }
    case 'unpin': {
      const target = nth(convo.pins(), op.pick)
      note(target ?? '(no pin)')
      if (target) await tolerate(() => convo.unpin(target.id))
      return
    }
    case 'markRead': {
      const target = nth(loaded, op.pick)
      note(target ?? '(nothing loaded)')
      if (target) await tolerate(() => convo.markRead(target.id))
      return
    }
    case 'retain': {
      note(`(${op.back} periods back)`)
      return convo.setRetainedFrom(Math.max(0, device.now() - op.back * device.periodMs))
    }
    case 'loadOlder':
      note()
      await convo.loadOlder()
      return
    case 'import': {
      const mine = live(net).filter((d) => d.user === device.user)
      const from = nth(mine, op.from)!
      note(`from ${from.name}`)
      const records: string[] = []
      for await (const line of (await open(from, net, op.conversation)).export()) records.push(line)
      await convo.import(records)
      return
    }
  }
}
