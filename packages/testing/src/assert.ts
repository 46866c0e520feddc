import type { Client, Conversation } from '@tidings/core'
import type { SimulatedNetwork } from './network-types.js'

/** A replica to compare: a device of a simulated network, or any client a suite runs itself. */
export interface Replica {
  readonly client: Client
  /** How the diff names it (default: `<user>#<n>`). */
  readonly name?: string
}

/** One field on which replicas disagree. */
export interface Difference {
  /** The message concerned, or undefined for conversation-wide fields (order, pins, retention). */
  readonly message?: string
  readonly field: string
  /** Each distinct value, with the replicas that hold it. */
  readonly values: readonly { readonly value: unknown; readonly replicas: readonly string[] }[]
}

/** Thrown by `assertConverged`: its message lists every difference, the seed and the steps to replay. */
export class ConvergenceError extends Error {
  override readonly name = 'ConvergenceError'
  constructor(
    message: string,
    readonly differences: readonly Difference[],
    readonly seed?: number,
  ) {
    super(message)
  }
}

/** Options of `assertConverged`. */
export interface ConvergenceOptions {
  /** Page in every older period before comparing (default true). */
  readonly loadAll?: boolean
  /** Differences listed in the message at most (default 20; all are on the error). */
  readonly maxListed?: number
  /** Trace lines of the replay shown at most (default 60, the newest). */
  readonly maxTrace?: number
  /**
   * Real ms to keep comparing before failing (default 0: compare once). Every ~20 ms the replicas
   * are loaded and compared again until they agree; then the last difference is thrown. For
   * clients on a real server, whose `whenSynced()` does not cover what the server still forwards.
   */
  readonly within?: number
}

/** What one replica shows of a conversation. */
interface Snapshot {
  readonly name: string
  readonly user: string
  readonly order: readonly string[]
  readonly messages: ReadonlyMap<string, Record<string, unknown>>
  readonly pins: unknown
  readonly retainedFrom: number
  readonly unread: readonly string[]
  readonly unreadCount: number | undefined
}

const snapshot = (name: string, client: Client, convo: Conversation): Snapshot => {
  const messages = new Map<string, Record<string, unknown>>()
  for (const m of convo.messages()) {
    messages.set(m.id, {
      author: m.author,
      device: m.device,
      body: m.body,
      priority: m.priority,
      sentAt: m.sentAt,
      replyTo: m.replyTo,
      editedAt: m.editedAt,
      deleted: m.deleted,
      status: m.status,
      readBy: [...convo.readBy(m.id)].sort(),
    })
  }
  return {
    name,
    user: client.user,
    order: convo.messages().map((m) => m.id),
    messages,
    pins: convo.pins(),
    retainedFrom: convo.retainedFrom,
    unread: [...convo.unreadIds()].sort(),
    unreadCount: client.conversations().find((c) => c.id === convo.id)?.unread,
  }
}

const key = (value: unknown) => JSON.stringify(value) ?? 'undefined'

/** Groups replicas by the value they hold; one group means they agree. */
const compare = (
  snapshots: readonly Snapshot[],
  field: string,
  read: (s: Snapshot) => unknown,
  message?: string,
): Difference | undefined => {
  const groups = new Map<string, { value: unknown; replicas: string[] }>()
  for (const s of snapshots) {
    const value = read(s)
    const k = key(value)
    const group = groups.get(k) ?? { value, replicas: [] }
    group.replicas.push(s.name)
    groups.set(k, group)
  }
  if (groups.size <= 1) return undefined
  return { ...(message === undefined ? {} : { message }), field, values: [...groups.values()] }
}

/** Every way the snapshots disagree, and every replica whose counts contradict its own lists. */
const differences = (snapshots: readonly Snapshot[]): Difference[] => {
  const found: (Difference | undefined)[] = []
  const ids = new Set(snapshots.flatMap((s) => s.order))
  for (const id of ids) {
    found.push(compare(snapshots, 'present', (s) => s.messages.has(id), id))
    const holders = snapshots.filter((s) => s.messages.has(id))
    const fields = Object.keys(holders[0]?.messages.get(id) ?? {})
    for (const field of fields) found.push(compare(holders, field, (s) => s.messages.get(id)![field], id))
  }
  found.push(compare(snapshots, 'order', (s) => s.order))
  found.push(compare(snapshots, 'pins', (s) => s.pins))
  found.push(compare(snapshots, 'retainedFrom', (s) => s.retainedFrom))
  // Devices of one user share read state.
  for (const user of new Set(snapshots.map((s) => s.user))) {
    const same = snapshots.filter((s) => s.user === user)
    found.push(compare(same, `unreadIds of ${user}`, (s) => s.unread))
  }
  for (const s of snapshots) {
    if (s.unreadCount !== undefined && s.unreadCount !== s.unread.length) {
      found.push({
        field: 'unread count',
        values: [{ value: { count: s.unreadCount, unreadIds: s.unread.length }, replicas: [s.name] }],
      })
    }
  }
  return found.filter((d): d is Difference => d !== undefined)
}

const describe = (d: Difference) => {
  const where = d.message === undefined ? d.field : `message ${d.message}: ${d.field}`
  const values = d.values.map((v) => `${v.replicas.join(', ')} ${key(v.value)}`).join(' | ')
  return `  ${where}: ${values}`
}

/** The lines that tell a reader how to replay a network's run: its seed and its last steps. */
export const replay = (net: SimulatedNetwork, maxTrace = 60): string[] => {
  const trace = net.trace.slice(-maxTrace)
  return [
    `seed: ${net.seed}; replay with createSimulatedNetwork({ seed: ${net.seed} }) and these steps` +
      (net.trace.length > maxTrace ? ` (the last ${maxTrace} of ${net.trace.length}):` : ':'),
    ...trace.map((step) => `  ${step}`),
  ]
}

const isNetwork = (target: SimulatedNetwork | readonly Replica[]): target is SimulatedNetwork =>
  !Array.isArray(target)

/** The replicas to compare; a list item that is not `{ client, name? }` is refused by its index. */
const replicasOf = (target: SimulatedNetwork | readonly Replica[]): Replica[] => {
  if (isNetwork(target)) {
    return target.devices.filter((d) => !d.crashed).map((d) => ({ client: d.client, name: d.name }))
  }
  for (const [i, replica] of target.entries()) {
    if (typeof (replica as Partial<Replica> | null)?.client?.open !== 'function') {
      throw new TypeError(
        `assertConverged takes a simulated network or a list of { client, name? } objects; item ${i} is not ` +
          'one (wrap a client as { client, name: "laptop" }).',
      )
    }
  }
  return [...target]
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Opens the conversation on every replica, pages in its history, and reads what each shows. */
const read = async (
  target: SimulatedNetwork | readonly Replica[],
  replicas: readonly Replica[],
  conversation: string,
  options: ConvergenceOptions,
): Promise<Snapshot[]> => {
  const settle = async () => {
    if (isNetwork(target)) await target.settle()
  }
  const convos: Conversation[] = []
  for (const replica of replicas) convos.push(await replica.client.open(conversation))
  await settle()
  if (options.loadAll ?? true) for (const convo of convos) while (await convo.loadOlder()) {}
  await settle()
  return replicas.map((r, i) => snapshot(r.name ?? `${r.client.user}#${i + 1}`, r.client, convos[i]!))
}

const failure = (
  target: SimulatedNetwork | readonly Replica[],
  conversation: string,
  snapshots: readonly Snapshot[],
  found: readonly Difference[],
  options: ConvergenceOptions,
) => {
  const maxListed = options.maxListed ?? 20
  const lines = [
    `${snapshots.length} replicas of "${conversation}" differ in ${found.length} place(s):`,
    ...found.slice(0, maxListed).map(describe),
    ...(found.length > maxListed ? [`  … and ${found.length - maxListed} more (error.differences)`] : []),
  ]
  if (isNetwork(target)) lines.push(...replay(target, options.maxTrace))
  return new ConvergenceError(lines.join('\n'), found, isNetwork(target) ? target.seed : undefined)
}

/**
 * Checks that every replica shows `conversation` alike: the same messages in the same order, with
 * the same bodies, edits, deletes, statuses and `readBy`, the same pins and `retainedFrom`, and the
 * same `unreadIds` on devices of one user. Loads the whole history first.
 * @remarks Settle the network (or let your clients sync) first: this compares, it does not wait,
 * unless `within` gives it real time to retry. Crashed devices of a network are left out until
 * they are restarted. A conversation that no replica had open before the call (none lists it in
 * `client.conversations()`) and of which none holds a message or a pin once opened is refused:
 * that is a mistyped id, which would otherwise pass. Throws a `ConvergenceError` naming each
 * message, field and replica that differ, with the network's seed and trace.
 */
export const assertConverged = async (
  target: SimulatedNetwork | readonly Replica[],
  conversation: string,
  options: ConvergenceOptions = {},
): Promise<void> => {
  const replicas = replicasOf(target)
  const known = replicas.some((r) => r.client.conversations().some((c) => c.id === conversation))
  const deadline = Date.now() + (options.within ?? 0)
  for (let first = true; ; first = false) {
    const snapshots = await read(target, replicas, conversation, options)
    if (first && !known && snapshots.every((s) => s.order.length === 0 && key(s.pins) === '[]')) {
      const opened = isNetwork(target) ? ` (its devices open ${key(target.conversations)})` : ''
      throw new Error(
        `assertConverged: no replica had "${conversation}" open before the call, and none holds a message ` +
          `or a pin of it. Check the conversation id${opened}, or open it on a replica first.`,
      )
    }
    const found = differences(snapshots)
    if (found.length === 0) return
    if (Date.now() >= deadline) throw failure(target, conversation, snapshots, found, options)
    await pause(20)
  }
}
