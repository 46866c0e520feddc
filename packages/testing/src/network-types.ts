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

/** Options of `createSimulatedNetwork`. */
export interface SimulatedNetworkOptions {
  /**
   * Seeds every random choice: ids, clientIDs, latencies, losses. The same seed replays the same run.
   * A whole number (default 1).
   */
  readonly seed?: number
  /** Virtual wall time at the start, whole epoch ms (default 2026-01-05 12:00 UTC). */
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
  /** How the simulated server behaves beyond `accept`. */
  readonly server?: {
    /**
     * The server keeps virtual time as `@tidings/server` keeps its own (default false): it refuses
     * an update to a period starting, or adding a message, edit or pin edit stamped, beyond its
     * time + MAX_DRIFT with `clock/skew` (before `accept` runs), and each device's link reports the
     * clock offset (server minus device) at connect and after such a refusal, as the websocket
     * transport does, so clients correct their clocks and re-stamp. Off, the server neither checks
     * nor tells the time: a skewed device's stamps stand as written and the re-stamp path never runs.
     */
    readonly clock?: boolean
  }
}

/** Options of `net.device`: its clock, storage and link. */
export interface DeviceOptions {
  /** This device's clock error in whole ms: negative is slow, positive fast. */
  readonly skewMs?: number
  /** Default: memory storage, reopened with its committed contents on restart. */
  readonly storage?: DeviceStorage
  /** Period length of the docs this device creates. */
  readonly periodMs?: number
  /** Whether the device starts with its link up (default true); false starts it offline until `online()`. */
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

/**
 * A seeded network of real clients around an in-process server, in virtual time. A method given a
 * device of another network throws a TypeError naming it; bad numbers throw a RangeError.
 */
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
  /**
   * Adds a device of `user` (a second call with the same user is another device of that user).
   * @remarks A device whose start fails (a refused user, period or conversation id) is not added:
   * its client is closed and the call rejects with the client's error.
   */
  device(user: string, options?: DeviceOptions): Promise<SimulatedDevice>
  /**
   * Sets a device's link conditions.
   * @remarks Out-of-range values throw a RangeError: `loss` and `duplicate` in [0, 1], `latencyMs`
   * ≥ 0 with min ≤ max, `reorder` a whole number ≥ 0, `bytesPerSecond` > 0 (leave it out for an
   * unlimited link). Frames already on the link keep the conditions they were sent under.
   */
  link(device: SimulatedDevice, conditions: LinkConditions): void
  /** Cuts the path between two different endpoints (a → b only when `oneWay`) until `heal`. */
  partition(a: Endpoint, b: Endpoint, options?: { oneWay?: boolean }): void
  /** Ends every partition; the devices they cut reconnect, as their heartbeat would make them. */
  heal(): void
  /** Takes a device's link down until `online`. */
  offline(device: SimulatedDevice): void
  /** Brings a device's link back up after `offline`. */
  online(device: SimulatedDevice): void
  /**
   * Kills a device: no flush; what its storage committed is all that remains. Its storage is
   * reopened (memory storage's `reopen()`, or the factory given as `storage` after closing the old
   * handle), then the abandoned client is closed, so calls on it (`whenSynced`, `open`, `send`)
   * reject with `client/closed` or `storage/closed` and write nothing.
   * @remarks Throws, changing nothing, when the storage can be neither reopened nor made again.
   * A crashed device is left out of `assertConverged` until it is restarted.
   */
  crash(device: SimulatedDevice): Promise<void>
  /**
   * Starts a crashed device again from its storage, reopening the conversations it had open.
   * Restarting a running device is a crash, then a restart.
   */
  restart(device: SimulatedDevice): Promise<SimulatedDevice>
  /** Moves one device's clock by `ms`, a whole number (negative: backwards), as a user or NTP would. */
  jump(device: SimulatedDevice, ms: number): void
  /** Moves every clock by `ms` (finite, ≥ 0), running the frames and timers due on the way. */
  advance(ms: number): void
  /**
   * Runs frames and timers until nothing is in flight; throws if that takes over `maxMs` of virtual
   * time (default a day), naming the devices that still have frames, timers or reconnects pending.
   * @remarks Nothing moves in the simulation outside `advance()` and `settle()`: an app call that
   * awaits the network (`client.whenSynced()`) must be awaited together with `settle()`.
   */
  settle(options?: { maxMs?: number }): Promise<void>
  /**
   * Notes a step in the trace, so that a failure's replay shows it: note your app's own steps
   * (the arbitraries' runner notes each operation).
   */
  note(step: string): void
  /** Closes every client; the network then refuses every further call. */
  close(): Promise<void>
}
