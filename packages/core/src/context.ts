import type { Forwarder } from './forward.js'
import type { HybridClock } from './hlc.js'
import type { DeviceId } from './ids.js'
import type { Outbox } from './outbox.js'
import type { StorageAdapter } from './storage.js'
import type { OutgoingUpdate } from './transport.js'

/** Timer functions, injectable so tests control time without global mocks. */
export interface Timers {
  /** Calls `fn` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown
  /** Called only with a handle this `setTimeout` returned. */
  clearTimeout(handle: unknown): void
}

export interface ConversationOptions {
  /** Period length in ms for new conversations; the value in a conversation's meta wins. */
  readonly periodMs: number
  /** Messages `open()` loads before resolving (whole periods, newest first). */
  readonly firstScreen: number
  /** Messages `loadOlder()` aims to add (whole periods). */
  readonly pageSize: number
  /** Largest body, as JSON bytes. */
  readonly maxBodyBytes: number
  /** Delay before a grown `held` set is published; markRead publishes at once. */
  readonly receiptDelay: number
  readonly timers: Timers
}

/** What a conversation needs from the client that owns it. */
export interface ClientContext {
  readonly user: string
  readonly device: DeviceId
  readonly storage: StorageAdapter
  readonly clock: HybridClock
  readonly outbox: Outbox
  readonly options: ConversationOptions
  /**
   * The per-device seq stored before seqs were per device and conversation: a conversation without
   * a counter of its own continues above it, so no id it held can be minted again.
   */
  readonly seq: number
  /** Counter of outbox keys, advanced like `seq`. */
  outboxSeq: number
  newClientId(): number
  /** Runs `fn` after every earlier write of this client settled, so writes never interleave. */
  serial<T>(fn: () => Promise<T>): Promise<T>
  /** Hands an update to the transport, if any. */
  send(update: OutgoingUpdate): void
  /** Reports an error no caller is waiting for (a bad remote update, a failed background write). */
  report(error: unknown): void
  /** Whether this client writes of its own accord (not a follower tab's client). */
  readonly upkeep: boolean
  /** Where a follower's writes go instead of its own storage (see `Transport.forward`). */
  readonly forward?: Forwarder | undefined
}
