import { uint32 } from 'lib0/random'
import type { ClientContext, ConversationOptions, Timers } from './context.js'
import { Conversation } from './conversation.js'
import { Emitter } from './emitter.js'
import { TidingsError } from './errors.js'
import { type ClockOptions, HybridClock, isStamp } from './hlc.js'
import { type ConversationId, conversationId, type DeviceId, isDeviceId, randomDeviceId } from './ids.js'
import { DEFAULT_PERIOD_MS, isPeriodMs, MAX_PERIOD_MS, MIN_PERIOD_MS, parseDocName } from './lanes.js'
import { memoryStorage } from './memory-storage.js'
import { DEFAULT_MAX_BODY_BYTES } from './message.js'
import { Outbox, readOutbox } from './outbox.js'
import { OutboxDrains } from './outbox-drain.js'
import { Presence } from './presence.js'
import { restampAhead } from './restamp.js'
import { SendOrder } from './send-order.js'
import type { StorageAdapter } from './storage.js'
import { Summaries } from './summaries.js'
import type { ConnectionState, LinkStatus, OutgoingUpdate, Transport } from './transport.js'

export interface ClientOptions {
  /** The user this device acts for. */
  user: string
  /** Where everything is kept; defaults to memory (nothing survives the process). */
  storage?: StorageAdapter
  /** How updates travel; without one the client works offline only. */
  transport?: Transport
  /** Physical time and drift bound of the hybrid logical clock. */
  clock?: Pick<ClockOptions, 'now' | 'maxDrift'>
  /** Uniform random numbers on [0, 1) for ids; defaults to crypto-backed randomness. */
  random?: () => number
  timers?: Timers
  /**
   * Length of the period docs this device creates (default 7 days, at least 1 s, at most 366 days),
   * unless an admin set the conversation's `settings.periodMs`. Each doc's name carries its length.
   */
  periodMs?: number
  firstScreen?: number
  pageSize?: number
  maxBodyBytes?: number
  receiptDelay?: number
}

export interface ClientEvents {
  connection: (state: ConnectionState) => void
  /** An error no call was waiting for: a refused remote update, unreadable storage, a failed background write. */
  error: (error: TidingsError) => void
}

export interface ConversationSummary {
  readonly id: ConversationId
  readonly unread: number
}

export interface Client {
  /** This device's id, once the client has read it from storage (after the first `open`). */
  readonly device: DeviceId | undefined
  readonly user: string
  readonly connection: ConnectionState
  /**
   * `connection` with why the link is not online (`auth/denied`, `network/unreachable`, …) and the
   * backoff wait before the next attempt; the same object until it changes (`subscribe` tells).
   */
  readonly link: LinkStatus
  open(id: string): Promise<Conversation>
  /** The open conversations with unread counts, in opening order; the same array until one changes. */
  conversations(): readonly ConversationSummary[]
  /**
   * Calls `listener` when `connection`, `link` or `conversations()` may have changed; returns the function
   * that stops it. Compare snapshots by reference to see whether they did (`useSyncExternalStore` does).
   */
  subscribe(listener: () => void): () => void
  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): () => void
  /**
   * Resolves when the link is online and every outbox entry of the open conversations is
   * acknowledged, or refused by the server in this session (those stay pending and are offered
   * again after a reconnect; see `error`). An entry refused with `clock/skew` counts as refused only
   * once the clock offset measured after the refusal was applied and it could not be re-stamped.
   * Rejects with `client/closed` when the client is closed before that.
   * @remarks Before any `open` it starts the client (reads storage, connects the transport) and
   * resolves once the link is online: nothing is open, so nothing waits in the outbox. Without a
   * transport it resolves at once. It waits through failures: watch `link` or `error` to give up.
   */
  whenSynced(): Promise<void>
  close(): Promise<void>
}

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

export const createClient = (options: ClientOptions): Client => {
  if (typeof options.user !== 'string' || options.user.length === 0 || options.user.length > 256) {
    throw new TidingsError(
      'input/invalid',
      'createClient needs a user: a non-empty string of at most 256 characters.',
    )
  }
  if (options.periodMs !== undefined && !isPeriodMs(options.periodMs)) {
    throw new TidingsError(
      'input/invalid',
      `periodMs ${options.periodMs} is invalid: use whole ms from ${MIN_PERIOD_MS} to ${MAX_PERIOD_MS}.`,
    )
  }
  const storage = options.storage ?? memoryStorage()
  const transport = options.transport
  const random = options.random ?? (() => uint32() / 0x1_0000_0000)
  // A listener that throws is reported, never thrown into the write or event that called it.
  const events = new Emitter<ClientEvents>((error, event) => {
    if (event !== 'error') report(error)
  })
  const conversations = new Map<ConversationId, Promise<Conversation>>()
  const opened = new Map<ConversationId, Conversation>()
  const changes = new Emitter<{ change: () => void }>((error) => report(error))
  const changed = () => changes.emit('change')
  const summaries = new Summaries(changed)
  /** Made before a conversation subscribes: the server sends everyone's presence at once. */
  const presences = new Map<ConversationId, Presence>()
  /** `whenSynced` callers: resolved once synced, rejected with client/closed by `close()`. */
  const settled = new Map<() => void, (error: TidingsError) => void>()
  const conversationOptions: ConversationOptions = {
    periodMs: options.periodMs ?? DEFAULT_PERIOD_MS,
    firstScreen: options.firstScreen ?? 50,
    pageSize: options.pageSize ?? options.firstScreen ?? 50,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    receiptDelay: options.receiptDelay ?? 1500,
    timers: options.timers ?? defaultTimers,
  }
  /** `link` for a transport that reports only its state: a new object only when the state changes. */
  let plainLink: LinkStatus = Object.freeze({ state: 'offline' })
  let queue: Promise<unknown> = Promise.resolve()
  let closed = false

  const report = (error: unknown) => {
    const typed =
      error instanceof TidingsError
        ? error
        : new TidingsError('client/unexpected', `Unexpected failure: ${(error as Error)?.message ?? error}`, {
            cause: error,
          })
    events.emit('error', typed)
  }

  /**
   * Resolves `whenSynced` callers once synced and once every update received so far is stored and
   * applied: the transport goes online when the last one arrived, not when the client applied it.
   */
  const checkSettled = () => {
    if (!isSynced() || settled.size === 0) return
    const barrier = ctx ? ctx.serial(async () => {}) : Promise.resolve()
    void barrier.then(() => {
      if (!isSynced()) return
      for (const resolve of [...settled.keys()]) resolve()
      settled.clear()
    })
  }
  const isSynced = () => !transport || (transport.state === 'online' && !ctx?.outbox.awaitsAck(opened.keys()))

  const wire = (transport: Transport, ctx: ClientContext) => {
    // Failures of the link reach the app here, once per distinct failure (the transport dedupes).
    transport.on('error', report)
    transport.on('link-status', changed)
    const replica = (id: ConversationId) => opened.get(id)?.replica
    transport.on('connection', (state) => {
      if (state === 'syncing') {
        ctx.outbox.releaseHeld()
        for (const id of opened.keys()) sendOutbox(ctx, id)
      }
      if (state === 'offline') {
        drains?.stop()
        for (const presence of presences.values()) presence.offline()
      }
      events.emit('connection', state)
      changed()
      checkSettled()
    })
    // A follower's statuses come from the outbox of the client it follows.
    transport.forward?.onPending((id) => opened.get(id)?.statusesChanged())
    transport.on('awareness', ({ conversation, update }) => presences.get(conversation)?.receive(update))
    // A link that carries no presence publishes nothing and renews nothing; a follower hands its
    // state to the client it follows after each sync, which publishes and renews it.
    if (typeof transport.sendAwareness === 'function' || transport.forward?.presence)
      transport.on('synced', ({ conversation }) => presences.get(conversation)?.linked())
    transport.on(
      'update',
      ({ conversation, doc, update }) => void replica(conversation)?.receive(doc, update),
    )
    transport.on('sync-request', ({ conversation, doc, stateVector }) => {
      const r = replica(conversation)
      r?.answer(doc, stateVector).then((update) => {
        const kind = parseDocName(doc)?.kind
        if (update && kind) transport.send({ conversation, doc, lane: kind, update })
      }, report)
    })
    /**
     * Re-stamps unsent messages, edits and receipts stamped beyond the corrected clock's bound, then
     * re-checks sync. After a fresh offset, entries refused with `clock/skew` that are still held
     * back (not re-stampable here) stop holding `whenSynced`.
     */
    const restamp = (offsetApplied: boolean) => {
      const replicas = [...opened.values()].map((c) => c.replica)
      void ctx
        .serial(async () => {
          for (const replica of replicas) {
            try {
              await restampAhead(ctx, replica)
            } catch (error) {
              report(error)
            }
          }
          if (offsetApplied) ctx.outbox.settleClock()
        })
        .then(checkSettled)
        .catch(report)
    }
    // Only a transport that reports offsets can bring the re-stamp a clock/skew refusal waits for.
    let measures = false
    transport.on('clock-offset', ({ offset }) => {
      if (!Number.isFinite(offset)) return
      measures = true
      ctx.clock.offset = offset
      restamp(true)
    })
    transport.on('ack', ({ keys }) => {
      const known = keys.filter((key) => ctx.outbox.get(key))
      if (known.length === 0) return
      // `sent` once the ack is stored: status, snapshots, listeners and whenSynced agree at every
      // moment, and a restart never shows an acknowledged message pending again.
      void ctx
        .serial(async () => {
          await storage.write({ acked: known })
          if (ctx.outbox.remove(known).length === 0) return
          for (const update of order?.released() ?? []) transport.send(update)
          for (const conversation of opened.values()) conversation.statusesChanged()
          checkSettled()
        })
        .catch(report)
    })
    transport.on('refused', ({ key, code, reason }) => {
      const entry = ctx.outbox.get(key)
      if (!entry) return
      report(new TidingsError(code, `The server refused ${entry.doc}: ${reason}`, { subject: entry.doc }))
      if (code !== 'retention/expired') {
        // Never reported as sent: the entry stays pending, and is offered again after a reconnect
        // (a clock that ran ahead, for one, is accepted once the server's time catches up).
        // One refused with clock/skew keeps `whenSynced` waiting until the offset the transport
        // measures after the refusal has been applied and the entry re-stamped (when it measures).
        ctx.outbox.holdBack(key, code === 'clock/skew' && measures)
        checkSettled()
        if (code === 'clock/skew') restamp(false)
        return
      }
      ctx.outbox.remove([key])
      ctx.outbox.markExpired([entry])
      const meta = { expired: JSON.stringify(ctx.outbox.expired()) }
      void ctx.serial(() => storage.write({ acked: [key], meta })).catch(report)
      for (const conversation of opened.values()) conversation.statusesChanged()
      checkSettled()
    })
    transport.connect({ user: options.user, device: ctx.device })
  }

  /**
   * Hands a conversation's outbox to the transport, highest lanes first (see OutboxDrains): sync
   * answers leave these entries out. Entries not read from storage yet are read first, in the write
   * queue (acks change the outbox there).
   */
  const sendOutbox = (ctx: ClientContext, id: ConversationId) => {
    if (ctx.outbox.complete(id)) return drains?.start(id)
    void ctx
      .serial(() => ctx.outbox.readAll())
      .then(() => {
        if (linked()) drains?.start(id)
      })
      .catch(report)
  }
  const linked = () => !closed && transport !== undefined && transport.state !== 'offline'
  /** Sends now, or once the messages an update names are acknowledged (see SendOrder). */
  const send = (update: OutgoingUpdate) => {
    if (!order?.hold(update)) transport?.send(update)
  }
  let order: SendOrder | undefined
  let drains: OutboxDrains | undefined

  let ctx: ClientContext | undefined
  const start = async (): Promise<ClientContext> => {
    const [storedDevice, seq, outboxSeq, clock, outbox, expired] = await Promise.all([
      storage.getMeta('device'),
      storage.getMeta('seq'),
      storage.getMeta('outboxSeq'),
      storage.getMeta('clock'),
      readOutbox(storage),
      storage.getMeta('expired'),
    ])
    // A device id belongs to one user: conversations' meta binds it, and servers refuse it to others.
    const owner = await storage.getMeta('user')
    if (owner !== undefined && owner !== options.user) {
      throw new TidingsError(
        'permission/denied',
        `This storage holds the device of user ${JSON.stringify(owner)}; give ${JSON.stringify(options.user)} a storage of their own.`,
      )
    }
    let device = storedDevice
    if (!isDeviceId(device)) {
      device = randomDeviceId(random)
      await storage.write({ meta: { device, user: options.user } })
    } else if (owner === undefined) await storage.write({ meta: { user: options.user } })
    const last = clock === undefined ? undefined : (JSON.parse(clock) as unknown)
    ctx = {
      user: options.user,
      device: device as DeviceId,
      storage,
      clock: new HybridClock({ ...options.clock, ...(isStamp(last) ? { last } : {}) }),
      outbox: new Outbox(outbox, expired ? (JSON.parse(expired) as string[]) : []),
      options: conversationOptions,
      seq: Number(seq ?? 0),
      outboxSeq: Number(outboxSeq ?? 0),
      newClientId: () => Math.floor(random() * 0x1_0000_0000) >>> 0 || 1,
      serial: (fn) => {
        const run = queue.then(fn, fn)
        queue = run.catch(() => undefined)
        return run
      },
      send: (update) => drains!.send(update),
      report,
      upkeep: transport?.follower !== true && !transport?.forward,
      forward: transport?.forward,
    }
    order = new SendOrder(ctx.outbox)
    drains = new OutboxDrains({ outbox: ctx.outbox, timers: conversationOptions.timers, linked, send })
    if (transport) wire(transport, ctx)
    return ctx
  }
  // A failed start (storage locked or unreadable for a moment) is retried by the next open().
  let starting: Promise<ClientContext> | undefined
  const ready = () => {
    starting ??= start().catch((error) => {
      starting = undefined
      throw error
    })
    return starting
  }

  const live = () => {
    if (closed) throw new TidingsError('client/closed', 'This client was closed.')
  }

  return {
    get device() {
      return ctx?.device
    },
    user: options.user,
    get connection(): ConnectionState {
      return transport?.state ?? 'offline'
    },
    get link(): LinkStatus {
      if (transport?.linkStatus) return transport.linkStatus
      const state = transport?.state ?? 'offline'
      if (plainLink.state !== state) plainLink = Object.freeze({ state })
      return plainLink
    },
    async open(id) {
      live()
      const cid = conversationId(id)
      let pending = conversations.get(cid)
      if (!pending) {
        pending = ready().then(async (ctx) => {
          // Subscribe first: opening commits the device's registration in meta, which a link that
          // is online already sends at once, and a server refuses updates for a conversation the
          // link has not subscribed to. The transport asks for `have` once the server answered.
          let conversation: Conversation | undefined
          let settle!: (c: Conversation | undefined) => void
          const started = new Promise<Conversation | undefined>((resolve) => {
            settle = resolve
          })
          const forward = transport?.forward
          const presence = new Presence({
            user: ctx.user,
            device: ctx.device,
            client: ctx.newClientId(),
            timers: ctx.options.timers,
            send: (update) => transport?.sendAwareness?.(cid, update),
            report,
            ...(forward?.presence && {
              follow: { set: (state) => forward.presence?.(cid, state), device: () => forward.device?.() },
            }),
          })
          presences.set(cid, presence)
          transport?.subscribe(cid, async () => (await started)?.replica.have() ?? [])
          try {
            conversation = await Conversation.open(ctx, cid, presence)
          } catch (error) {
            transport?.unsubscribe(cid)
            presence.close()
            presences.delete(cid)
            settle(undefined)
            throw error
          }
          opened.set(cid, conversation)
          summaries.add(conversation)
          // The link may have reached `syncing` while this conversation was opening: its outbox
          // (entries from before a restart included) missed that resend. Transports drop duplicates.
          if (linked()) sendOutbox(ctx, cid)
          settle(conversation)
          return conversation
        })
        conversations.set(cid, pending)
        pending.catch(() => conversations.delete(cid))
      }
      return pending
    },
    conversations() {
      return summaries.get()
    },
    subscribe(listener) {
      return changes.on('change', listener)
    },
    on(event, listener) {
      return events.on(event, listener)
    },
    whenSynced() {
      return new Promise<void>((resolve, reject) => {
        live()
        settled.set(resolve, reject)
        // Nothing opened yet means no link either: start one rather than wait for an open that may
        // never come (the transport connects when the client starts).
        if (transport && !ctx)
          ready().then(checkSettled, (error) => {
            if (settled.delete(resolve)) reject(error)
          })
        checkSettled()
      })
    },
    async close() {
      if (closed) return
      closed = true
      // A closed client never syncs: its waiters learn why instead of hanging.
      const closedError = new TidingsError('client/closed', 'The client was closed before it synced.')
      for (const reject of settled.values()) reject(closedError)
      settled.clear()
      // Each step runs whatever failed before it: the link and the storage are always released.
      let failure: unknown
      const step = async (fn: () => Promise<unknown> | undefined) => {
        try {
          await fn()
        } catch (error) {
          failure ??= error
        }
      }
      for (const conversation of opened.values()) await step(() => conversation.close())
      await step(() => queue)
      await step(() => transport?.close())
      await step(() => storage.close())
      if (failure !== undefined) throw failure
    },
  }
}
