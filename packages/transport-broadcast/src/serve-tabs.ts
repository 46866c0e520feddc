import {
  type Client,
  type Conversation,
  type ConversationId,
  compareSyncOrder,
  type LinkStatus,
  type Message,
  parseDocName,
  type StorageAdapter,
  TidingsError,
  type Transport,
  type UpdateWrite,
} from '@tidings/core'
import { uuidv4 } from 'lib0/random'
import { diffUpdate, mergeUpdates } from 'yjs'
import { type BroadcastChannelConstructor, openChannel } from './channel.js'
import {
  type Call,
  type FollowerMessage,
  type LeaderMessage,
  readFollowerMessage,
  VERSION,
} from './messages.js'
import { PresenceCache } from './presence-cache.js'
import { relayStorage } from './relay-storage.js'
import { RequestLog } from './request-log.js'

/** Options of `serveTabs`: the leading tab's client and the channel the followers use. */
export interface ServeTabsOptions {
  /** The name the followers' `broadcastTransport` uses; usually the storage's name. */
  readonly name: string
  /** The real, durable storage (IndexedDB in a browser). */
  readonly storage: StorageAdapter
  /**
   * Creates the leader's real client on the storage it is given (a wrapper of `storage` that
   * reports every commit to the followers): `(storage) => createClient({ user, storage, transport })`.
   */
  readonly createClient: (storage: StorageAdapter) => Client
  /** The real client's network transport: the presence it reports is relayed to the tabs. */
  readonly network?: Pick<Transport, 'on'> | undefined
  readonly BroadcastChannel?: BroadcastChannelConstructor
}

/** The leader's side: the real client, serving the follower tabs. */
export interface TabServer {
  /** This leader's tab id, as followers see it. */
  readonly id: string
  /** The real client, with the real storage and network; the leader tab may use it directly. */
  readonly client: Client
  /** Finishes the calls in progress, tells the followers, then closes the client and its storage. */
  close(): Promise<void>
}

/** Keeps the last results per request id, so a call posted twice to one leader runs once. */
const CALLS_KEPT = 1024

const failure = (error: unknown): { code: TidingsError['code']; message: string } =>
  error instanceof TidingsError
    ? { code: error.code, message: error.message }
    : { code: 'client/unexpected', message: `The leader tab failed: ${(error as Error)?.message ?? error}` }

const isLoaded = (convo: Conversation, id: string) => convo.messages().some((m) => m.id === id)

/** Loads older periods until message `id` is in the leader's window (a follower may hold more). */
const ensureLoaded = async (convo: Conversation, id: string | undefined): Promise<void> => {
  if (id === undefined) return
  while (!isLoaded(convo, id) && (await convo.loadOlder())) {}
}

/**
 * Runs the leader's client for the follower tabs: answers their subscriptions from the committed
 * storage, forwards every commit, and makes their writes with this tab's device id.
 * @remarks Call it only in the tab that `tabLeader` elected, so one tab writes the storage.
 */
export const serveTabs = (options: ServeTabsOptions): TabServer => {
  const id = uuidv4()
  const inner = options.storage
  const log = new RequestLog()
  /** Conversation → ids of the follower tabs subscribed to it. */
  const subscribers = new Map<ConversationId, Set<string>>()
  const calls = new Map<string, Promise<Message | number | null>>()
  const running = new Set<Promise<unknown>>()
  const watched = new Map<ConversationId, { last: string; unsubscribe: () => void }>()
  let dispatch: Promise<unknown> = Promise.resolve()
  let loading: Promise<void> | undefined
  let closing = false

  const post = (message: LeaderMessage) => channel.post({ v: VERSION, ...message })

  const committed = (updates: readonly UpdateWrite[]) => {
    for (const { doc, update } of updates) {
      const conversation = parseDocName(doc)?.conversation
      if (conversation && subscribers.get(conversation)?.size) {
        post({ t: 'update', from: id, conversation, doc, update })
      }
    }
  }
  const client = options.createClient(relayStorage(inner, log, committed))
  const ready = () => {
    loading ??= log.load(inner).catch((error: unknown) => {
      loading = undefined
      throw error
    })
    return loading
  }
  let announced: LinkStatus | undefined
  const announce = () => {
    if (closing) return
    announced = client.link
    const { reason, retryInMs } = announced
    const status = { ...(reason ? { reason } : {}), ...(retryInMs === undefined ? {} : { retryInMs }) }
    post({ t: 'leader', from: id, network: client.connection, user: client.user, ...status })
  }

  /** Tells the followers whenever the leader's outbox of a conversation changes. */
  const watch = (convo: Conversation) => {
    if (watched.has(convo.id)) return
    let scheduled = false
    const push = () => {
      scheduled = false
      const state = watched.get(convo.id)
      if (!state) return
      const ids = convo.pending().map((m) => m.id)
      const last = ids.join(' ')
      if (last === state.last) return
      state.last = last
      post({ t: 'pending', from: id, conversation: convo.id, ids })
    }
    const unsubscribe = convo.subscribe(() => {
      if (scheduled) return
      scheduled = true
      queueMicrotask(push)
    })
    watched.set(convo.id, { last: '', unsubscribe })
    push()
  }

  const subscribe = async (m: Extract<FollowerMessage, { t: 'subscribe' }>) => {
    if (m.user !== client.user) {
      post({
        t: 'failed',
        from: id,
        to: m.from,
        id: m.conversation,
        code: 'permission/denied',
        message: `The leader tab runs as ${client.user}, not ${m.user}: tabs of one storage share one user.`,
      })
      return
    }
    // Subscribed first: a commit from now on is forwarded, anything earlier is in the load below.
    const tabs = subscribers.get(m.conversation) ?? new Set()
    subscribers.set(m.conversation, tabs.add(m.from))
    try {
      const convo = await client.open(m.conversation)
      watch(convo)
      const have = new Map(m.have.map((v) => [v.doc, v.stateVector]))
      const docs = (await inner.listDocs(m.conversation)).map((d) => d.doc).sort(compareSyncOrder)
      for (const doc of docs) {
        const rows = await inner.load(doc)
        if (rows.length === 0) continue
        const state = mergeUpdates(rows.map((r) => r.update))
        let missing: Uint8Array
        try {
          missing = diffUpdate(state, have.get(doc) ?? new Uint8Array([0]))
        } catch {
          missing = state // an unreadable state vector: send everything, applying twice is harmless
        }
        post({ t: 'update', from: id, to: m.from, conversation: m.conversation, doc, update: missing })
      }
      const device = client.device
      post({ t: 'synced', from: id, to: m.from, conversation: m.conversation, ...(device ? { device } : {}) })
      const present = presence.snapshot(m.conversation)
      if (present)
        post({ t: 'awareness', from: id, to: m.from, conversation: m.conversation, update: present })
      const last = watched.get(convo.id)?.last
      if (last) post({ t: 'pending', from: id, conversation: convo.id, ids: last.split(' ') })
    } catch (error) {
      post({ t: 'failed', from: id, to: m.from, id: m.conversation, ...failure(error) })
    }
  }

  /** Makes one follower write with the leader's client; resolves once storage committed it. */
  const execute = async (request: string, conversation: ConversationId, call: Call) => {
    const convo = await client.open(conversation)
    watch(convo)
    if (call.op === 'send') {
      const done = log.sent(request)
      if (done !== undefined) {
        // Committed by an earlier leader that went away before answering: answer, do not resend.
        await ensureLoaded(convo, done)
        return { run: Promise.resolve(convo.messages().find((m) => m.id === done) ?? null) }
      }
      await ensureLoaded(convo, call.replyTo)
      const priority = call.priority ?? 'normal'
      const withdraw = log.expect(request, conversation, call.body, priority, call.replyTo)
      const run = convo.send(call.body, { priority, ...(call.replyTo ? { replyTo: call.replyTo } : {}) })
      run.catch(withdraw)
      return { run: run as Promise<Message | number | null> }
    }
    if (call.op === 'retain') return { run: convo.setRetainedFrom(call.wall).then(() => null) }
    if (call.op === 'import') return { run: convo.import(call.text) }
    await ensureLoaded(convo, call.id)
    const target = convo.messages().find((m) => m.id === call.id)
    let run: Promise<void>
    if (call.op === 'edit') run = convo.edit(call.id, call.body)
    // A retried delete finds the message deleted already: done, not an error.
    else if (call.op === 'delete') run = target?.deleted ? Promise.resolve() : convo.delete(call.id)
    else if (call.op === 'pin') run = convo.pin(call.id)
    else if (call.op === 'unpin') run = convo.unpin(call.id)
    else run = convo.markRead(call.id)
    return { run: run.then(() => null) }
  }

  const handleCall = (m: Extract<FollowerMessage, { t: 'call' }>) => {
    let result = calls.get(m.id)
    if (!result) {
      if (m.user !== client.user) {
        result = Promise.reject(
          new TidingsError('permission/denied', `The leader tab runs as ${client.user}, not ${m.user}.`),
        )
      } else {
        // Started in arrival order, so a follower's sends keep their order; they then run side by side.
        const started = dispatch.then(async () => {
          await ready()
          return execute(m.id, m.conversation, m.call)
        })
        dispatch = started.catch(() => undefined)
        result = started.then(({ run }) => run)
      }
      calls.set(m.id, result)
      for (const key of calls.keys()) {
        if (calls.size <= CALLS_KEPT) break
        calls.delete(key)
      }
      const settled = result.catch(() => undefined).finally(() => running.delete(settled))
      running.add(settled)
    }
    result.then(
      (value) => post({ t: 'result', from: id, to: m.from, id: m.id, value }),
      (error: unknown) => post({ t: 'failed', from: id, to: m.from, id: m.id, ...failure(error) }),
    )
  }

  /**
   * A tab's `setPresence`, merged into the device's one awareness entry, which the real client
   * publishes on the network and renews; a refusal goes back to the tab under the conversation.
   */
  const setPresence = (m: Extract<FollowerMessage, { t: 'presence' }>) => {
    const refuse = (error: unknown) =>
      post({ t: 'failed', from: id, to: m.from, id: m.conversation, ...failure(error) })
    if (m.user !== client.user) {
      refuse(new TidingsError('permission/denied', `The leader tab runs as ${client.user}, not ${m.user}.`))
      return
    }
    // One open promise per conversation: a tab's states are applied in the order it posted them.
    client
      .open(m.conversation)
      .then((convo) => convo.setPresence(m.state))
      .catch(refuse)
  }

  const receive = (data: unknown) => {
    const m = readFollowerMessage(data)
    if (!m || closing) return
    if (m.t === 'hello') announce()
    else if (m.t === 'bye') for (const tabs of subscribers.values()) tabs.delete(m.from)
    else if (m.to !== id) return
    else if (m.t === 'subscribe') void subscribe(m)
    else if (m.t === 'unsubscribe') subscribers.get(m.conversation)?.delete(m.from)
    else if (m.t === 'presence') setPresence(m)
    else handleCall(m)
  }

  const channel = openChannel(options.name, receive, options.BroadcastChannel)
  const offConnection = client.on('connection', announce)
  // The reason and retry wait change without the state: tell the tabs then too.
  const offLink = client.subscribe(() => {
    if (client.link !== announced) announce()
  })
  // The link's failures, once each, for every tab's `client.on('error')`.
  const offError = client.on('error', ({ code, message }) => {
    if (/^(network|auth)\//.test(code)) post({ t: 'link-error', from: id, code, message })
  })
  const presence = new PresenceCache()
  const offNetwork = options.network
    ? [
        options.network.on('awareness', ({ conversation, update }) => {
          if (presence.apply(conversation, update) && subscribers.get(conversation)?.size)
            post({ t: 'awareness', from: id, conversation, update })
        }),
        options.network.on('connection', (state) => {
          if (state === 'offline') presence.clear()
        }),
      ]
    : []
  void ready().catch(() => undefined) // retried by the first call
  announce()

  return {
    id,
    client,
    async close() {
      if (closing) return
      closing = true
      // Answers for calls already taken, then the goodbye; followers retry the rest elsewhere.
      await Promise.all(running)
      post({ t: 'closing', from: id })
      channel.close()
      offConnection()
      offLink()
      offError()
      for (const off of offNetwork) off()
      for (const { unsubscribe } of watched.values()) unsubscribe()
      await client.close()
    },
  }
}
