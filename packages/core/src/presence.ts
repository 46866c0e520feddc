import { type AwarenessEntry, decodeAwareness, encodeAwareness, isNewer } from './awareness.js'
import type { Timers } from './context.js'
import { TidingsError } from './errors.js'
import { type Json, validateBody } from './message.js'

/** One online device in a conversation, as `convo.presence()` lists it. */
export interface PresencePeer {
  /** The user, stamped by the server (or the loopback hub), never the publishing client's claim. */
  readonly user: string
  /** The publishing device's id, stamped by the server on Tidings connections. */
  readonly device: string
  /** True while the device's user is typing; expires by itself after a few seconds. */
  readonly typing: boolean
  /** This client's own device. */
  readonly self: boolean
  /** The app's fields, as passed to `setPresence`. */
  readonly state: Readonly<Record<string, unknown>>
}

/** What `setPresence` takes: `typing` and app fields (JSON values; `undefined` removes a field). */
export interface PresenceState {
  typing?: boolean
  [field: string]: Json | undefined
}

/** `typing: true` lasts this long without a new `setPresence({ typing: true })`. */
export const TYPING_MS = 5_000
/** y-protocols drops a state not renewed for 30 s; its providers renew at half of it, and so do we. */
const OUTDATED_MS = 30_000
const RENEW_MS = OUTDATED_MS / 2
/** Largest app state, as JSON; the Tidings server refuses states past 16 KiB with the stamps. */
const MAX_STATE_BYTES = 8 * 1024
/** Fields the server writes into every state: a client never sets them. */
const STAMPED = ['user', 'device'] as const

export interface PresenceOptions {
  readonly user: string
  readonly device: string
  /** This conversation's awareness client id. */
  readonly client: number
  readonly timers: Timers
  /** Hands an awareness update to the transport (dropped when it cannot carry presence). */
  send(update: Uint8Array): void
  report(error: unknown): void
  /**
   * A follower's link to the client it follows (the leading tab's), which holds the device's one
   * awareness entry: states go there instead of `send`, and self is that client's device.
   */
  readonly follow?: {
    set(state: PresenceState): void
    device(): string | undefined
  }
}

interface Remote {
  readonly clock: number
  readonly state: Readonly<Record<string, unknown>> | null
  /** Arrival order: of two states of one device, the later wins. */
  readonly order: number
  readonly timer: unknown
}

/** Same peers with the same fields, in the same order (states compared as their JSON). */
const samePeers = (a: readonly PresencePeer[], b: readonly PresencePeer[]) =>
  a.length === b.length &&
  a.every((peer, i) => {
    const other = b[i]!
    return (
      peer.user === other.user &&
      peer.device === other.device &&
      peer.typing === other.typing &&
      peer.self === other.self &&
      JSON.stringify(peer.state) === JSON.stringify(other.state)
    )
  })

const compare = (a: PresencePeer, b: PresencePeer) =>
  a.user < b.user ? -1 : a.user > b.user ? 1 : a.device < b.device ? -1 : a.device > b.device ? 1 : 0

/**
 * Presence of one conversation on this device: y-protocols awareness at conversation level. Keeps
 * this device's state (published whenever the subscription syncs, and renewed before others drop
 * it) and the states others publish, which the server stamps with user and device.
 */
export class Presence {
  readonly #options: PresenceOptions
  readonly #listeners = new Set<() => void>()
  readonly #remote = new Map<number, Remote>()
  #fields: Readonly<Record<string, Json>> = Object.freeze({})
  #typing = false
  #clock = 0
  #order = 0
  /** The subscription synced on the current link: the server takes presence. */
  #linked = false
  #closed = false
  #typingTimer: unknown
  #renewTimer: unknown
  #snapshot: readonly PresencePeer[] | undefined
  /** The last list handed out: kept while a recount finds the same peers (a renewal, say). */
  #last: readonly PresencePeer[] = Object.freeze([])
  /** The device the snapshot names as self: a follower learns it from the client it follows. */
  #selfDevice: string | undefined

  constructor(options: PresenceOptions) {
    this.#options = options
  }

  /** One entry per online device, this one included, by user then device; same array until a change. */
  peers(): readonly PresencePeer[] {
    const device = this.#device()
    if (this.#snapshot && this.#selfDevice === device) return this.#snapshot
    const { user } = this.#options
    const latest = new Map<string, { order: number; peer: PresencePeer }>()
    for (const { state, order } of this.#remote.values()) {
      const peer = state && peerOf(state)
      if (!peer || (peer.user === user && peer.device === device)) continue
      const key = JSON.stringify([peer.user, peer.device])
      if ((latest.get(key)?.order ?? -1) < order) latest.set(key, { order, peer })
    }
    const self: PresencePeer = Object.freeze({
      user,
      device,
      typing: this.#typing,
      self: true,
      state: this.#fields,
    })
    const next = [self, ...[...latest.values()].map((l) => l.peer)].sort(compare)
    // A renewal re-sends an unchanged state: the same list keeps useSyncExternalStore from re-rendering.
    if (!samePeers(this.#last, next)) this.#last = Object.freeze(next)
    this.#snapshot = this.#last
    this.#selfDevice = device
    return this.#snapshot
  }

  /** Merges `state` into this device's presence and publishes it. */
  set(state: PresenceState): void {
    if (this.#closed) throw new TidingsError('conversation/closed', 'This conversation was closed.')
    if (typeof state !== 'object' || state === null || Array.isArray(state))
      throw new TidingsError('input/invalid', 'setPresence takes an object, e.g. { typing: true }.')
    const { typing, ...fields } = state
    if (typing !== undefined && typeof typing !== 'boolean')
      throw new TidingsError('input/invalid', `typing must be a boolean, not ${JSON.stringify(typing)}.`)
    for (const field of STAMPED)
      if (field in fields)
        throw new TidingsError('input/invalid', `The server stamps ${field} into presence; do not set it.`)
    const merged: Record<string, Json | undefined> = { ...this.#fields, ...fields }
    for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key]
    this.#fields = validState(merged)
    if (typing !== undefined) {
      this.#typing = typing
      this.#cancel('typing')
      if (typing) this.#typingTimer = this.#options.timers.setTimeout(() => this.#stopTyping(), TYPING_MS)
    }
    this.#changed()
    this.#options.follow?.set(state)
    this.#publish()
  }

  /** Applies an awareness update from the transport; an unreadable one is reported and ignored. */
  receive(update: Uint8Array): void {
    if (this.#closed) return
    let entries: AwarenessEntry[]
    try {
      entries = decodeAwareness(update)
    } catch (error) {
      this.#options.report(error)
      return
    }
    let changed = false
    for (const entry of entries) {
      if (entry.client === this.#options.client) continue
      const known = this.#remote.get(entry.client)
      if (!isNewer(entry, known?.clock, known?.state != null)) continue
      if (known?.timer !== undefined) this.#options.timers.clearTimeout(known.timer)
      const timer =
        entry.state === null
          ? undefined
          : this.#options.timers.setTimeout(() => this.#expire(entry.client), OUTDATED_MS)
      this.#remote.set(entry.client, { clock: entry.clock, state: entry.state, order: ++this.#order, timer })
      changed ||= entry.state !== null || known?.state != null
    }
    if (changed) this.#changed()
  }

  /** The subscription synced on a (new) link: publish this device's state there. */
  linked(): void {
    if (this.#closed) return
    this.#linked = true
    const follow = this.#options.follow
    if (follow) {
      if (this.#selfDevice !== this.#device()) this.#changed()
      // A new leading client starts without this tab's fields; typing goes only while on, so a
      // tab that is not typing does not stop another tab's typing.
      const typing = this.#typing ? { typing: true } : {}
      if (this.#typing || Object.keys(this.#fields).length > 0) follow.set({ ...this.#fields, ...typing })
      return
    }
    // The server may remember our last state removed at one clock more (it left with the old link).
    this.#clock++
    this.#publish()
  }

  /** The link is gone: others' presence is unknown until the next sync brings it again. */
  offline(): void {
    this.#linked = false
    this.#cancel('renew')
    this.#forgetRemote()
  }

  /** Removes this device's presence and stops. */
  close(): void {
    if (this.#closed) return
    if (this.#linked && !this.#options.follow)
      this.#options.send(
        encodeAwareness([{ client: this.#options.client, clock: ++this.#clock, state: null }]),
      )
    this.offline()
    this.#cancel('typing')
    this.#closed = true
    this.#listeners.clear()
  }

  /** Calls `listener` after every change of `peers()`. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** The followed client publishes a follower's state, renews it, and lets its typing lapse. */
  #publish() {
    if (!this.#linked || this.#closed || this.#options.follow) return
    const { client, user, device } = this.#options
    // user and device are claims the server overwrites; a stock y-websocket server relays them as they are.
    const state = { ...this.#fields, typing: this.#typing, user, device }
    this.#options.send(encodeAwareness([{ client, clock: ++this.#clock, state }]))
    this.#cancel('renew')
    this.#renewTimer = this.#options.timers.setTimeout(() => this.#publish(), RENEW_MS)
  }

  #stopTyping() {
    this.#typingTimer = undefined
    if (!this.#typing || this.#closed) return
    this.#typing = false
    this.#changed()
    this.#publish()
  }

  #device(): string {
    return this.#options.follow?.device() ?? this.#options.device
  }

  /** A state not renewed in time: its device vanished without a removal reaching us. */
  #expire(client: number) {
    const known = this.#remote.get(client)
    if (!known?.state) return
    this.#remote.set(client, { ...known, state: null, timer: undefined })
    this.#changed()
  }

  #forgetRemote() {
    const had = [...this.#remote.values()].some((r) => r.state !== null)
    for (const { timer } of this.#remote.values())
      if (timer !== undefined) this.#options.timers.clearTimeout(timer)
    this.#remote.clear()
    if (had) this.#changed()
  }

  #cancel(which: 'typing' | 'renew') {
    const timer = which === 'typing' ? this.#typingTimer : this.#renewTimer
    if (timer !== undefined) this.#options.timers.clearTimeout(timer)
    if (which === 'typing') this.#typingTimer = undefined
    else this.#renewTimer = undefined
  }

  #changed() {
    this.#snapshot = undefined
    for (const listener of [...this.#listeners]) listener()
  }
}

/** A peer from a stamped state; none when the state lacks a user or device (an unstamped relay). */
const peerOf = (state: Readonly<Record<string, unknown>>): PresencePeer | undefined => {
  const { user, device, typing, ...fields } = state
  if (typeof user !== 'string' || typeof device !== 'string') return undefined
  return Object.freeze({ user, device, typing: typing === true, self: false, state: Object.freeze(fields) })
}

const validState = (fields: Record<string, Json | undefined>): Readonly<Record<string, Json>> => {
  try {
    return validateBody(fields, MAX_STATE_BYTES) as Readonly<Record<string, Json>>
  } catch (error) {
    const { code, message } = error as TidingsError
    throw new TidingsError(code, message.replace('The message body', 'The presence state'), { cause: error })
  }
}
