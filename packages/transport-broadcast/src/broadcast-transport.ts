import {
  type ConnectionState,
  type Conversation,
  type ConversationId,
  type DocVector,
  Emitter,
  type Message,
  type OutgoingUpdate,
  parseDocName,
  TidingsError,
  type Timers,
  type Transport,
  type TransportEvents,
  type TransportSession,
  type Unsubscribe,
} from '@tidings/core'
import { uuidv4 } from 'lib0/random'
import { decodeUpdate, Item } from 'yjs'
import { type BroadcastChannelConstructor, type Channel, openChannel } from './channel.js'
import {
  type Call,
  type FollowerMessage,
  type LeaderMessage,
  readLeaderMessage,
  VERSION,
} from './messages.js'
import { type RemoteConversation, remoteConversation } from './remote-conversation.js'

export interface BroadcastTransportOptions {
  /** The name the leader's `serveTabs` uses; usually the storage's name. */
  readonly name: string
  readonly BroadcastChannel?: BroadcastChannelConstructor
  /** Errors no call waits for: a subscription the leader refused, a write made on this tab's client. */
  readonly onError?: (error: TidingsError) => void
  /** Longest wait, in ms, for this tab's view to show a message the leader sent for it (default 5000). */
  readonly viewTimeout?: number
  readonly timers?: Timers
}

export interface BroadcastTransportEvents extends TransportEvents {
  /** The leader's own network link changed; `offline` while no leader is known. */
  network: (state: ConnectionState) => void
  /** Another tab leads now; undefined while none is known. */
  leader: (id: string | undefined) => void
  /** The leader's outbox of a conversation changed. */
  pending: (event: { conversation: ConversationId }) => void
}

/** A core `Transport` for a follower tab, plus the way to write through the leader. */
export interface BroadcastTransport extends Transport {
  /** The leader's network link, as it last reported it. */
  readonly network: ConnectionState
  /** The leading tab's id, undefined while none is known. */
  readonly leader: string | undefined
  on<E extends keyof BroadcastTransportEvents>(event: E, listener: BroadcastTransportEvents[E]): Unsubscribe
  /** Writes to a conversation this tab's client opened, made by the leader's client. */
  remote(conversation: Conversation): RemoteConversation
}

/** Meta maps only an app's call writes; core writes `devices` and `settings` on its own. */
const APP_META_MAPS = new Set(['pins', 'pinEdits', 'retention'])

/** Whether this tab's own client wrote something a user asked for, which would stay in this tab. */
const isUserWrite = ({ doc, update }: OutgoingUpdate): boolean => {
  const kind = parseDocName(doc)?.kind
  if (kind === undefined || kind === 'receipts') return false
  if (kind !== 'meta') return true
  try {
    return decodeUpdate(update).structs.some(
      (s) => s instanceof Item && typeof s.parent === 'string' && APP_META_MAPS.has(s.parent),
    )
  } catch {
    return false
  }
}

interface PendingCall {
  readonly conversation: ConversationId
  readonly call: Call
  resolve(value: Message | null): void
  reject(error: TidingsError): void
}

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

class FollowerLink implements BroadcastTransport {
  /** The leader's client frees deleted content and keeps pins current; this tab's client does not. */
  readonly follower = true
  readonly #id = uuidv4()
  readonly #events = new Emitter<BroadcastTransportEvents>()
  readonly #subscriptions = new Map<ConversationId, () => Promise<DocVector[]>>()
  readonly #unsynced = new Set<ConversationId>()
  readonly #calls = new Map<string, PendingCall>()
  readonly #pending = new Map<ConversationId, readonly string[]>()
  readonly #options: BroadcastTransportOptions
  readonly timers: Timers
  readonly viewTimeout: number
  #channel: Channel | undefined
  #session: TransportSession | undefined
  #leader: string | undefined
  #network: ConnectionState = 'offline'
  #nextCall = 0
  #closed = false
  state: ConnectionState = 'offline'

  constructor(options: BroadcastTransportOptions) {
    if (typeof options.name !== 'string' || options.name.length === 0) {
      throw new TidingsError('input/invalid', 'broadcastTransport needs a name: the storage the tabs share.')
    }
    this.#options = options
    this.timers = options.timers ?? defaultTimers
    this.viewTimeout = options.viewTimeout ?? 5000
  }

  get network(): ConnectionState {
    return this.#network
  }

  get leader(): string | undefined {
    return this.#leader
  }

  on<E extends keyof BroadcastTransportEvents>(event: E, listener: BroadcastTransportEvents[E]) {
    return this.#events.on(event, listener)
  }

  connect(session: TransportSession) {
    if (this.#closed) return
    this.#session = session
    if (this.state !== 'offline') return
    this.#channel = openChannel(
      this.#options.name,
      (data) => this.#receive(data),
      this.#options.BroadcastChannel,
    )
    this.#setState('connecting')
    this.#post({ t: 'hello', from: this.#id })
  }

  disconnect() {
    if (this.state === 'offline') return
    this.#post({ t: 'bye', from: this.#id })
    this.#channel?.close()
    this.#channel = undefined
    this.#unsynced.clear()
    this.#setLeader(undefined)
    this.#setState('offline')
  }

  subscribe(conversation: ConversationId, have: () => Promise<DocVector[]>) {
    this.#subscriptions.set(conversation, have)
    if (this.#leader !== undefined) this.#requestSync(conversation)
  }

  unsubscribe(conversation: ConversationId) {
    this.#subscriptions.delete(conversation)
    this.#unsynced.delete(conversation)
    if (this.#leader !== undefined) {
      this.#post({ t: 'unsubscribe', from: this.#id, to: this.#leader, conversation })
    }
    this.#maybeOnline()
  }

  /**
   * This tab's own client writes only bookkeeping (its device entry, its receipts), which stays in
   * this tab: acknowledged and dropped. A user's write made on it is refused, since only the
   * leader's device may write; make it through `remote(conversation)`.
   */
  send(update: OutgoingUpdate) {
    const { key } = update
    if (key === undefined) return
    const refuse = isUserWrite(update)
    queueMicrotask(() => {
      if (!refuse) {
        this.#events.emit('ack', { keys: [key] })
        return
      }
      const reason = `${update.doc} was written by a follower tab's own client: write through transport.remote(conversation).`
      this.#events.emit('refused', { key, code: 'permission/denied', reason })
      this.#options.onError?.(new TidingsError('permission/denied', reason, { subject: update.doc }))
    })
  }

  async close() {
    if (this.#closed) return
    this.disconnect()
    this.#closed = true
    this.#subscriptions.clear()
    for (const call of this.#calls.values()) {
      call.reject(new TidingsError('client/closed', 'The broadcast transport was closed.'))
    }
    this.#calls.clear()
  }

  remote(conversation: Conversation): RemoteConversation {
    return remoteConversation(conversation, {
      call: (id, call) => this.#call(id, call),
      pendingIds: (id) => this.#pending.get(id) ?? [],
      onPending: (id, listener) =>
        this.#events.on('pending', ({ conversation: changed }) => {
          if (changed === id) listener()
        }),
      timers: this.timers,
      viewTimeout: this.viewTimeout,
    })
  }

  #call(conversation: ConversationId, call: Call): Promise<Message | null> {
    if (this.#closed) {
      return Promise.reject(new TidingsError('client/closed', 'The broadcast transport was closed.'))
    }
    try {
      // Checked now, not when a leader appears: a call that cannot cross the channel must fail at once.
      structuredClone(call)
    } catch (cause) {
      return Promise.reject(
        new TidingsError(
          'input/invalid',
          'The call cannot be posted to the leader tab: a value cannot be cloned.',
          {
            cause,
          },
        ),
      )
    }
    return new Promise((resolve, reject) => {
      const id = `${this.#id}:${++this.#nextCall}`
      this.#calls.set(id, { conversation, call, resolve, reject })
      // Without a leader the call waits, and goes out when one announces itself.
      this.#postCall(id)
    })
  }

  #postCall(id: string) {
    const pending = this.#calls.get(id)
    if (!pending || this.#leader === undefined || !this.#session) return
    this.#post({
      t: 'call',
      from: this.#id,
      to: this.#leader,
      user: this.#session.user,
      id,
      conversation: pending.conversation,
      call: pending.call,
    })
  }

  #receive(data: unknown) {
    const m = readLeaderMessage(data)
    if (!m || this.state === 'offline') return
    if (m.t === 'leader') {
      if (m.from !== this.#leader) this.#adopt(m.from)
      this.#setNetwork(m.network)
      return
    }
    // Answers are taken from any leader: an old one that answers late did make the change.
    if (m.t === 'result' || m.t === 'failed') {
      if (m.to === this.#id) this.#answer(m)
      return
    }
    if (m.from !== this.#leader || ('to' in m && m.to !== undefined && m.to !== this.#id)) return
    if (m.t === 'closing') {
      this.#unsynced.clear()
      this.#setLeader(undefined)
      this.#setState('connecting')
      this.#post({ t: 'hello', from: this.#id })
    } else if (m.t === 'update') {
      if (this.#subscriptions.has(m.conversation)) {
        this.#events.emit('update', { conversation: m.conversation, doc: m.doc, update: m.update })
      }
    } else if (m.t === 'synced') {
      if (!this.#unsynced.delete(m.conversation)) return
      this.#events.emit('synced', { conversation: m.conversation })
      this.#maybeOnline()
    } else if (m.t === 'pending') {
      this.#pending.set(m.conversation, m.ids)
      this.#events.emit('pending', { conversation: m.conversation })
    }
  }

  #answer(m: Extract<LeaderMessage, { t: 'result' | 'failed' }>) {
    const pending = this.#calls.get(m.id)
    if (!pending) {
      // A refused subscription names its conversation instead of a call.
      if (m.t === 'failed' && m.from === this.#leader && this.#subscriptions.has(m.id as ConversationId)) {
        this.#options.onError?.(new TidingsError(m.code, m.message, { subject: m.id }))
      }
      return
    }
    this.#calls.delete(m.id)
    if (m.t === 'result') pending.resolve(m.value)
    else pending.reject(new TidingsError(m.code, m.message))
  }

  /** A new leader: subscribe again, and send every unanswered call again (it dedupes by id). */
  #adopt(leader: string) {
    this.#setLeader(leader)
    const stale = [...this.#pending.keys()]
    this.#pending.clear()
    for (const conversation of stale) this.#events.emit('pending', { conversation })
    this.#setState('syncing')
    for (const conversation of this.#subscriptions.keys()) this.#requestSync(conversation)
    for (const id of this.#calls.keys()) this.#postCall(id)
    this.#maybeOnline()
  }

  #requestSync(conversation: ConversationId) {
    const leader = this.#leader
    this.#unsynced.add(conversation)
    if (this.state === 'online') this.#setState('syncing')
    const have = this.#subscriptions.get(conversation)!
    const post = (vectors: DocVector[]) => {
      if (this.#leader !== leader || !this.#subscriptions.has(conversation) || !this.#session) return
      this.#post({
        t: 'subscribe',
        from: this.#id,
        to: leader!,
        user: this.#session.user,
        conversation,
        have: vectors,
      })
    }
    // Without vectors the leader sends everything: more bytes, same result.
    have().then(post, () => post([]))
  }

  #post(message: FollowerMessage): boolean {
    return this.#channel?.post({ v: VERSION, ...message }) ?? false
  }

  #maybeOnline() {
    if (this.state === 'syncing' && this.#unsynced.size === 0) this.#setState('online')
  }

  #setLeader(leader: string | undefined) {
    if (this.#leader === leader) return
    this.#leader = leader
    if (leader === undefined) this.#setNetwork('offline')
    this.#events.emit('leader', leader)
  }

  #setNetwork(state: ConnectionState) {
    if (this.#network === state) return
    this.#network = state
    this.#events.emit('network', state)
  }

  #setState(state: ConnectionState) {
    if (this.state === state) return
    this.state = state
    this.#events.emit('connection', state)
  }
}

/** A transport for a follower tab: its client reads what the leader tab's storage holds. */
export const broadcastTransport = (options: BroadcastTransportOptions): BroadcastTransport =>
  new FollowerLink(options)
