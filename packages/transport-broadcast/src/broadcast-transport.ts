import {
  type ConnectionState,
  type ConversationId,
  type DocVector,
  Emitter,
  type ErrorCode,
  type Forwarder,
  type LinkStatus,
  type Message,
  type OutgoingUpdate,
  type PresenceState,
  parseDocName,
  TidingsError,
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

/** Options of `broadcastTransport`, a follower tab's link to the leader. */
export interface BroadcastTransportOptions {
  /** The name the leader's `serveTabs` uses; usually the storage's name. */
  readonly name: string
  readonly BroadcastChannel?: BroadcastChannelConstructor
  /** Errors no call waits for: a subscription the leader refused, a write this tab cannot forward. */
  readonly onError?: (error: TidingsError) => void
}

/** A follower tab's events: a transport's, plus the leader's link, leadership and outbox changes. */
export interface BroadcastTransportEvents extends TransportEvents {
  /** The leader's own network link changed; `offline` while no leader is known. */
  network: (state: ConnectionState) => void
  /** Another tab leads now; undefined while none is known. */
  leader: (id: string | undefined) => void
  /** The leader's outbox of a conversation changed. */
  pending: (event: { conversation: ConversationId }) => void
}

/**
 * A core `Transport` for a follower tab: its client reads what the leader's storage holds and
 * forwards its writes to the leader's client. Its `state` is the leader's network link once this
 * tab is attached to the leader, and this tab's `link` to the leader before that.
 */
export interface BroadcastTransport extends Transport {
  /** This tab's link to the leading tab. */
  readonly link: ConnectionState
  /** The leader's network link, as it last reported it; `offline` while no leader is known. */
  readonly network: ConnectionState
  /** The leading tab's id, undefined while none is known. */
  readonly leader: string | undefined
  readonly forward: Forwarder
  on<E extends keyof BroadcastTransportEvents>(event: E, listener: BroadcastTransportEvents[E]): Unsubscribe
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
  resolve(value: Message | number | null): void
  reject(error: TidingsError): void
}

/** A follower tab's link to the leading tab; `tabsTransport` adds the election to it. */
export class FollowerLink implements BroadcastTransport {
  /** The leader's client frees deleted content and keeps pins current; this tab's client does not. */
  readonly follower = true
  readonly #id = uuidv4()
  readonly #events = new Emitter<BroadcastTransportEvents>()
  readonly #subscriptions = new Map<ConversationId, () => Promise<DocVector[]>>()
  readonly #unsynced = new Set<ConversationId>()
  readonly #calls = new Map<string, PendingCall>()
  readonly #pending = new Map<ConversationId, readonly string[]>()
  readonly #options: BroadcastTransportOptions
  readonly forward: Forwarder = {
    write: (conversation, call) => this.#call(conversation, call),
    pendingIds: (conversation) => this.#pending.get(conversation) ?? [],
    onPending: (listener) => this.#events.on('pending', ({ conversation }) => listener(conversation)),
    presence: (conversation, state) => this.#presence(conversation, state),
    device: () => this.#device,
  }
  #channel: Channel | undefined
  #session: TransportSession | undefined
  /** Users of leaders this tab refused to follow, each reported once. */
  readonly #foreignUsers = new Set<string>()
  #leader: string | undefined
  /** The leader's client's device, the one device of every tab: learnt from `synced`. */
  #device: string | undefined
  #network: ConnectionState = 'offline'
  /** Why the leader's link is not online, as it last announced. */
  #leaderLink: { reason?: ErrorCode | undefined; retryInMs?: number | undefined } = {}
  #linkStatus: LinkStatus = { state: 'offline' }
  #nextCall = 0
  #closed = false
  #link: ConnectionState = 'offline'
  /** The state last reported through `connection`. */
  #state: ConnectionState = 'offline'

  constructor(options: BroadcastTransportOptions) {
    if (typeof options.name !== 'string' || options.name.length === 0) {
      throw new TidingsError('input/invalid', 'The tabs transport needs a name: the storage the tabs share.')
    }
    this.#options = options
  }

  /** `state` with the leader's reason and retry wait; the same object until one of them changes. */
  get linkStatus(): LinkStatus {
    const state = this.state
    const { reason, retryInMs } = state === this.#network ? this.#leaderLink : {}
    const last = this.#linkStatus
    if (last.state === state && last.reason === reason && last.retryInMs === retryInMs) return last
    this.#linkStatus = {
      state,
      ...(reason ? { reason } : {}),
      ...(retryInMs === undefined ? {} : { retryInMs }),
    }
    return this.#linkStatus
  }

  /** The leader's link once this tab is attached to the leader, this tab's link before. */
  get state(): ConnectionState {
    return this.#link === 'online' ? this.#network : this.#link
  }

  get link(): ConnectionState {
    return this.#link
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
    if (this.#link !== 'offline') return
    this.#channel = openChannel(
      this.#options.name,
      (data) => this.#receive(data),
      this.#options.BroadcastChannel,
    )
    this.#setLink('connecting')
    this.#post({ t: 'hello', from: this.#id })
  }

  disconnect() {
    if (this.#link === 'offline') return
    this.#post({ t: 'bye', from: this.#id })
    this.#channel?.close()
    this.#channel = undefined
    this.#unsynced.clear()
    this.#setLeader(undefined)
    this.#setLink('offline')
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
   * This tab's client forwards its writes and makes none of its own accord; what it still writes
   * itself (`setRetainedFrom`, `import`) would carry a second device id: refused, and reported.
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
      const reason = `${update.doc} was written by a follower tab's own client: only send, edit, delete, pin, unpin and markRead reach the leading tab.`
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

  #call(conversation: ConversationId, call: Call): Promise<Message | number | null> {
    if (this.#closed) {
      return Promise.reject(new TidingsError('client/closed', 'The broadcast transport was closed.'))
    }
    if (this.#leader === undefined && this.#foreignUsers.size > 0) return Promise.reject(this.#foreignError())
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

  /**
   * Hands a `setPresence` to the leader's client rather than publishing awareness bytes of this
   * tab's own: presence is one entry per device, stamped by the server with the link's user and
   * device, so tabs relaying entries of their own would show the device once per tab (and count
   * against the server's awareness ids per connection), each tab's renewals would flip the entry
   * between tabs' states, and a closed tab's entry would outlive it. Merged at the leader, every
   * tab edits the device's one entry, which the leader's client renews and removes on close.
   * Dropped without a leader: after the next sync core hands this tab's state again.
   */
  #presence(conversation: ConversationId, state: PresenceState) {
    if (this.#leader === undefined || !this.#session || !this.#subscriptions.has(conversation)) return
    this.#post({
      t: 'presence',
      from: this.#id,
      to: this.#leader,
      user: this.#session.user,
      conversation,
      state,
    })
  }

  #receive(data: unknown) {
    const m = readLeaderMessage(data)
    if (!m || this.#link === 'offline') return
    if (m.t === 'leader') {
      // Another user's storage on this channel: following it would show that user's conversations.
      if (this.#session && m.user !== this.#session.user) return this.#foreign(m.user)
      const before = this.linkStatus
      this.#leaderLink = { reason: m.reason, retryInMs: m.retryInMs }
      if (m.from === this.#leader) this.#setNetwork(m.network)
      else this.#adopt(m.from, m.network)
      if (this.linkStatus !== before) this.#events.emit('link-status', this.linkStatus)
      return
    }
    // Answers are taken from any leader: an old one that answers late did make the change.
    if (m.t === 'result' || m.t === 'failed') {
      if (m.to === this.#id) this.#answer(m)
      return
    }
    if (m.from !== this.#leader || ('to' in m && m.to !== undefined && m.to !== this.#id)) return
    if (m.t === 'link-error') return void this.#events.emit('error', new TidingsError(m.code, m.message))
    if (m.t === 'closing') {
      this.#unsynced.clear()
      this.#setLeader(undefined)
      this.#setLink('connecting')
      this.#post({ t: 'hello', from: this.#id })
    } else if (m.t === 'update') {
      if (this.#subscriptions.has(m.conversation)) {
        this.#events.emit('update', { conversation: m.conversation, doc: m.doc, update: m.update })
      }
    } else if (m.t === 'awareness') {
      if (this.#subscriptions.has(m.conversation)) {
        this.#events.emit('awareness', { conversation: m.conversation, update: m.update })
      }
    } else if (m.t === 'synced') {
      if (!this.#unsynced.delete(m.conversation)) return
      if (m.device !== undefined) this.#device = m.device
      this.#events.emit('synced', { conversation: m.conversation })
      this.#maybeOnline()
    } else if (m.t === 'pending') {
      this.#pending.set(m.conversation, m.ids)
      this.#events.emit('pending', { conversation: m.conversation })
    }
  }

  /** Says once per foreign leader user that this tab waits for a leader of its own user. */
  #foreign(user: string) {
    if (this.#foreignUsers.has(user)) return
    this.#foreignUsers.add(user)
    const error = this.#foreignError()
    this.#options.onError?.(error)
    // Its writes would wait for a leader of this user, which cannot come while that one holds the lock.
    if (this.#leader === undefined) {
      for (const call of this.#calls.values()) call.reject(error)
      this.#calls.clear()
    }
  }

  #foreignError(): TidingsError {
    const users = [...this.#foreignUsers].join(', ')
    return new TidingsError(
      'permission/denied',
      `The leading tab on channel ${JSON.stringify(this.#options.name)} runs as ${users}, not ${this.#session?.user}: give each user a channel name of their own.`,
    )
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
  #adopt(leader: string, network: ConnectionState) {
    this.#setLeader(leader)
    // Before going online with this leader: `state` then tells its link, not the last one's.
    this.#setNetwork(network)
    const stale = [...this.#pending.keys()]
    this.#pending.clear()
    for (const conversation of stale) this.#events.emit('pending', { conversation })
    this.#setLink('syncing')
    for (const conversation of this.#subscriptions.keys()) this.#requestSync(conversation)
    for (const id of this.#calls.keys()) this.#postCall(id)
    this.#maybeOnline()
  }

  #requestSync(conversation: ConversationId) {
    const leader = this.#leader
    this.#unsynced.add(conversation)
    if (this.#link === 'online') this.#setLink('syncing')
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
    if (this.#link === 'syncing' && this.#unsynced.size === 0) this.#setLink('online')
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
    this.#report()
  }

  #setLink(state: ConnectionState) {
    if (this.#link === state) return
    this.#link = state
    this.#report()
  }

  #report() {
    const state = this.state
    if (this.#state === state) return
    this.#state = state
    this.#events.emit('connection', state)
  }
}

/** A transport for a follower tab: its client reads what the leader tab's storage holds. */
export const broadcastTransport = (options: BroadcastTransportOptions): BroadcastTransport =>
  new FollowerLink(options)
