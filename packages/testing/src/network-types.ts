import type {
  Client,
  ClientOptions,
  DeviceId,
  LoopbackHub,
  LoopbackOptions,
  StorageAdapter,
  TidingsError,
} from '@tidings/core'
import type { LinkConditions, LinkStats } from './link.js'

/** Storage for a simulated device: an adapter, or a factory that opens the same data again after a crash. */
export type DeviceStorage = StorageAdapter | (() => StorageAdapter | Promise<StorageAdapter>)

export interface SimulatedNetworkOptions {
  /** Seeds every random choice: ids, clientIDs, latencies, losses. The same seed replays the same run. */
  readonly seed?: number
  /** Virtual wall time at the start, epoch ms (default 2026-01-05 12:00 UTC). */
  readonly start?: number
  /** Conversations every device opens when it starts (default `['room']`). */
  readonly conversations?: readonly string[]
  /** How long a dead connection goes unnoticed before the device reconnects (default 10 s). */
  readonly heartbeatMs?: number
  /** Delay before a device whose connection died connects again (default 1 s). */
  readonly reconnectMs?: number
  /** Conditions of every link until `link()` sets a device's own (default: perfect). */
  readonly link?: LinkConditions
  /** Options every device's `createClient` gets (default `receiptDelay: 0`). */
  readonly client?: Partial<ClientOptions>
  /** The server's check of each update: return an error code to refuse it. */
  readonly accept?: LoopbackOptions['accept']
}

export interface DeviceOptions {
  /** This device's clock error in ms: negative is slow, positive fast. */
  readonly skewMs?: number
  /** Default: memory storage, reopened with its committed contents on restart. */
  readonly storage?: DeviceStorage
  /** Period length of the docs this device creates. */
  readonly periodMs?: number
  /** Start with the link down (default true: online). */
  readonly online?: boolean
  /** This device's link conditions. */
  readonly link?: LinkConditions
  /** Conversations to open at start (default: the network's). */
  readonly conversations?: readonly string[]
  /** Further `createClient` options. */
  readonly client?: Partial<ClientOptions>
}

/** A device on the simulated network: a real client the test uses as an app would. */
export interface SimulatedDevice {
  /** `<user>#<n>`: unique on this network, used in traces and diffs. */
  readonly name: string
  readonly user: string
  readonly deviceId: DeviceId
  /** The running client; a restart replaces it. */
  readonly client: Client
  /** The storage the running client uses (a restart may reopen it as a new handle). */
  readonly storage: StorageAdapter
  /** Errors the client reported (`client.on('error')`), across restarts. */
  readonly errors: readonly TidingsError[]
  readonly skewMs: number
  /** Length of the period docs this device creates. */
  readonly periodMs: number
  /** Whether the device wants its link up (a partition or a loss may still cut it). */
  readonly online: boolean
  readonly crashed: boolean
  /** This device's clock: virtual time plus its skew. */
  now(): number
}

/** One end of a partition. */
export type Endpoint = SimulatedDevice | 'server'

export interface SimulatedNetwork {
  readonly seed: number
  /** Virtual time (the server's clock). */
  readonly now: number
  readonly devices: readonly SimulatedDevice[]
  /** The conversations devices open at start. */
  readonly conversations: readonly string[]
  /**
   * The server: its copy of every doc. A link made with `hub.transport()` is a raw peer outside the
   * simulation: a perfect link, no client (for forgeries and other hand-made updates).
   */
  readonly hub: LoopbackHub
  readonly stats: LinkStats
  /** Every step taken on this network, for the replay in a failure message. */
  readonly trace: readonly string[]
  /** Adds a device of `user` (a second call with the same user is another device of that user). */
  device(user: string, options?: DeviceOptions): Promise<SimulatedDevice>
  /** Sets a device's link conditions. */
  link(device: SimulatedDevice, conditions: LinkConditions): void
  /** Cuts the path between two endpoints (a → b only when `oneWay`) until `heal`. */
  partition(a: Endpoint, b: Endpoint, options?: { oneWay?: boolean }): void
  /** Ends every partition; the devices they cut reconnect, as their heartbeat would make them. */
  heal(): void
  /** Takes a device's link down until `online`. */
  offline(device: SimulatedDevice): void
  online(device: SimulatedDevice): void
  /** Kills a device: no close, no flush; what its storage committed is all that remains. */
  crash(device: SimulatedDevice): Promise<void>
  /** Starts a crashed (or running) device again from its storage, reopening its conversations. */
  restart(device: SimulatedDevice): Promise<SimulatedDevice>
  /** Moves one device's clock by `ms` (negative: backwards), as a user or NTP would. */
  jump(device: SimulatedDevice, ms: number): void
  /** Moves every clock by `ms`, running the frames and timers due on the way. */
  advance(ms: number): void
  /** Runs frames and timers until nothing is in flight; throws if that takes over `maxMs` of virtual time. */
  settle(options?: { maxMs?: number }): Promise<void>
  /** Notes a step in the trace (the arbitraries' runner notes each operation). */
  note(step: string): void
  /** Closes every client. */
  close(): Promise<void>
}
