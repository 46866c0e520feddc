import {
  type Client,
  createClient,
  DEFAULT_PERIOD_MS,
  type DeviceId,
  type LoopbackFrame,
  type LoopbackTransport,
  loopbackHub,
  memoryStorage,
  type StorageAdapter,
  type TidingsError,
} from '@tidings/core'
import { checkConditions, checkNetworkOptions, checkNumber } from './checks.js'
import { type LinkConditions, type LinkStats, Pipe } from './link.js'
import { pendingReport, settleError, strangerError } from './network-report.js'
import type {
  DeviceOptions,
  DeviceStorage,
  Endpoint,
  SimulatedDevice,
  SimulatedNetwork,
  SimulatedNetworkOptions,
} from './network-types.js'
import { type DeviceTimers, prng, Scheduler } from './scheduler.js'
import { skewCheck, withSkewCheck } from './server-clock.js'

interface DeviceState extends SimulatedDevice {
  name: string
  /** Its place among the devices this network made: part of its client's seed. */
  readonly index: number
  client: Client
  errors: TidingsError[]
  skewMs: number
  online: boolean
  crashed: boolean
  deviceId: DeviceId
  conditions: LinkConditions | undefined
  storage: StorageAdapter
  readonly factory: (() => StorageAdapter | Promise<StorageAdapter>) | undefined
  readonly options: DeviceOptions
  link: LoopbackTransport
  /** Bumped on every disconnect: timers of an older connection do nothing. */
  epoch: number
  /** A frame was lost on this connection: it carries nothing more until the device reconnects. */
  dead: boolean
  up: Pipe
  down: Pipe
  timers: DeviceTimers
  /** Stops collecting the running client's errors (an abandoned client's are noise). */
  unlisten: () => void
  /** Conversations the client had open when it crashed: its restart opens them again. */
  openAtCrash: string[] | undefined
}

interface Cut {
  readonly from: Endpoint
  readonly to: Endpoint
}

/** The network each device belongs to, so a device passed to another network is refused by name. */
const homes = new WeakMap<object, object>()

const yieldReal = (ms?: number) =>
  new Promise<void>((resolve) =>
    ms === undefined && typeof setImmediate === 'function'
      ? setImmediate(resolve)
      : setTimeout(resolve, ms ?? 0),
  )

/** A seeded simulated network: one scheduler for every device's timers, clock and links. */
export const createSimulatedNetwork = (options: SimulatedNetworkOptions = {}): SimulatedNetwork => {
  checkNetworkOptions(options)
  const seed = options.seed ?? 1
  const scheduler = new Scheduler(options.start ?? Date.UTC(2026, 0, 5, 12))
  const random = prng(seed)
  const serverNow = () => Math.floor(scheduler.now)
  // Off by default for now: with it on, schedules and kit tests with fast clocks find re-stamp bugs
  // in core that are not fixed yet (see docs/testing.md). Without it the re-stamp path never runs.
  const clocked = options.server?.clock ?? false
  const hub = loopbackHub({
    manual: true,
    ...(clocked
      ? {
          now: serverNow,
          accept: withSkewCheck(
            skewCheck(serverNow, (doc) => hub.docs.get(doc)),
            options.accept,
          ),
        }
      : options.accept
        ? { accept: options.accept }
        : {}),
  })
  const conversations = options.conversations ?? ['room']
  const heartbeatMs = options.heartbeatMs ?? 10_000
  const reconnectMs = options.reconnectMs ?? 1_000
  const stats: LinkStats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, cut: 0 }
  const devices: DeviceState[] = []
  const byLink = new Map<number, DeviceState>()
  /** Links of crashed or refused clients: anything they still produce is dropped. */
  const retired = new Set<number>()
  const cuts: Cut[] = []
  const trace: string[] = []
  const perUser = new Map<string, number>()
  let made = 0
  let closed = false

  /** Throws once the network is closed: its clients are gone, so every later step would lie. */
  const usable = (call: string) => {
    if (closed) {
      throw new Error(`net.${call}(): this simulated network (seed ${seed}) is closed; create a new one.`)
    }
  }
  /** The device as this network knows it; a device of another network is refused by name. */
  const own = (device: SimulatedDevice, call: string): DeviceState => {
    usable(call)
    if (homes.get(device) === net && devices.includes(device as DeviceState)) return device as DeviceState
    throw strangerError(device, call, homes.has(device as object))
  }
  const endpoint = (e: Endpoint, call: string): Endpoint => (e === 'server' ? e : own(e, call))

  /** A frame's path is cut when a partition lies between its sender and its receiver. */
  const blocked = (device: DeviceState, frame: LoopbackFrame) => {
    if (device.dead) return true
    if (cuts.length === 0) return false
    const origin = frame.origin === undefined ? undefined : byLink.get(frame.origin)
    const [from, to]: [Endpoint, Endpoint] =
      frame.direction === 'up' ? [device, 'server'] : ['server', device]
    return cuts.some(
      (cut) =>
        (cut.from === from && cut.to === to) ||
        (origin !== undefined && cut.from === origin && cut.to === device),
    )
  }

  /** Fresh pipes for a new connection of `device`. */
  const pipes = (device: DeviceState) => {
    const env = {
      scheduler,
      random,
      stats,
      owner: device.name,
      conditions: () => device.conditions ?? options.link ?? {},
      blocked: (frame: LoopbackFrame) => blocked(device, frame),
      lost: () => {
        // The connection is dead from here: nothing more gets through until the device reconnects.
        device.dead = true
        const epoch = device.epoch
        const heartbeat = () => {
          if (device.epoch === epoch) reset(device, reconnectMs)
        }
        scheduler.at(scheduler.now + heartbeatMs, heartbeat, { owner: device.name, kind: 'reconnect' })
      },
    }
    device.up = new Pipe(env)
    device.down = new Pipe(env)
  }

  /** Drops the connection: what its pipes still carried is cut, and the next one gets new pipes. */
  const disconnect = (device: DeviceState) => {
    device.epoch++
    device.dead = false
    device.up.close()
    device.down.close()
    pipes(device)
    device.link.disconnect()
  }
  const connect = (device: DeviceState) => {
    if (device.crashed || !device.online) return
    device.link.connect({ user: device.user, device: device.deviceId })
  }
  /** Drops the connection and connects again after `delay` ms. */
  const reset = (device: DeviceState, delay: number) => {
    disconnect(device)
    const epoch = device.epoch
    const again = () => {
      if (device.epoch === epoch) connect(device)
    }
    scheduler.at(scheduler.now + delay, again, { owner: device.name, kind: 'reconnect' })
  }
  /** Takes a client off the network for good: its link's frames are dropped from now on. */
  const retire = (device: DeviceState) => {
    device.timers.cancelAll()
    device.unlisten()
    disconnect(device)
    byLink.delete(device.link.id)
    retired.add(device.link.id)
  }

  /** Hands the frames the hub and links produced to their pipes. */
  const pull = () => {
    const bursts = new Map<Pipe, LoopbackFrame[]>()
    for (const frame of hub.take()) {
      if (retired.has(frame.link)) continue
      const device = byLink.get(frame.link)
      // A link the test made itself on `hub` (a raw peer) is perfect: its frames run at once.
      if (!device) {
        scheduler.at(scheduler.now, () => frame.run())
        continue
      }
      const pipe = frame.direction === 'up' ? device.up : device.down
      bursts.set(pipe, [...(bursts.get(pipe) ?? []), frame])
    }
    for (const [pipe, frames] of bursts) pipe.push(frames)
  }

  const startClient = async (device: DeviceState, open: readonly string[]) => {
    // Without presence: its renewal every 15 s would keep settle() from ever finding the network quiet.
    const link = hub.transport({ now: () => device.now() })
    Object.defineProperty(link, 'sendAwareness', { value: undefined })
    device.link = link
    byLink.set(link.id, device)
    pipes(device)
    device.timers = scheduler.timers(device.name)
    device.unlisten = () => {}
    const client = createClient({
      receiptDelay: 0,
      ...options.client,
      ...device.options.client,
      user: device.user,
      storage: device.storage,
      transport: link,
      clock: { now: () => device.now() },
      random: prng(seed ^ ((device.index + 1) * 0x9e3779b1) ^ device.epoch),
      timers: device.timers,
      periodMs: device.periodMs,
    })
    device.client = client
    device.unlisten = client.on('error', (error) => device.errors.push(error))
    for (const id of open) await client.open(id)
    device.deviceId = client.device!
    if (!device.online) disconnect(device)
    pull()
  }

  const openStorage = async (storage: DeviceStorage | undefined) =>
    storage === undefined ? memoryStorage() : typeof storage === 'function' ? await storage() : storage

  /** Undoes a device whose start failed: its client closed, its link retired, nothing left running. */
  const discard = async (device: DeviceState, opened: boolean) => {
    if (device.link) retire(device)
    if (device.client) await device.client.close().catch(() => {})
    // Storage this network opened itself is closed with the client, or here when there was none.
    else if (opened && device.storage) await device.storage.close().catch(() => {})
  }

  const net: SimulatedNetwork = {
    seed,
    get now() {
      return Math.floor(scheduler.now)
    },
    devices,
    conversations,
    hub,
    stats,
    trace,
    note(step) {
      usable('note')
      trace.push(step)
    },

    async device(user, deviceOptions = {}) {
      usable('device')
      const where = `net.device(${JSON.stringify(user)})`
      if (deviceOptions.skewMs !== undefined) {
        checkNumber(deviceOptions.skewMs, `${where}: skewMs`, { integer: true })
      }
      if (deviceOptions.link !== undefined) checkConditions(deviceOptions.link, where)
      const n = (perUser.get(user) ?? 0) + 1
      perUser.set(user, n)
      const device = {
        name: `${user}#${n}`,
        index: made++,
        user,
        errors: [],
        skewMs: deviceOptions.skewMs ?? 0,
        periodMs: deviceOptions.periodMs ?? options.client?.periodMs ?? DEFAULT_PERIOD_MS,
        online: deviceOptions.online ?? true,
        crashed: false,
        conditions: deviceOptions.link,
        factory: typeof deviceOptions.storage === 'function' ? deviceOptions.storage : undefined,
        options: deviceOptions,
        epoch: 0,
        openAtCrash: undefined,
        // Whole ms, as Date.now() gives: a throttled link's transfer times are fractional.
        now: () => Math.floor(scheduler.now) + device.skewMs,
      } as unknown as DeviceState
      try {
        device.storage = await openStorage(deviceOptions.storage)
        await startClient(device, deviceOptions.conversations ?? conversations)
      } catch (error) {
        await discard(device, typeof deviceOptions.storage !== 'object')
        throw error
      }
      devices.push(device)
      homes.set(device, net)
      trace.push(`device ${device.name} ${JSON.stringify({ ...deviceOptions, storage: undefined })}`)
      return device
    },

    link(device, conditions) {
      const state = own(device, 'link')
      checkConditions(conditions, `net.link(${state.name})`)
      trace.push(`link ${state.name} ${JSON.stringify(conditions)}`)
      state.conditions = conditions
    },

    partition(a, b, partitionOptions = {}) {
      const [from, to] = [endpoint(a, 'partition'), endpoint(b, 'partition')]
      const name = (e: Endpoint) => (e === 'server' ? e : e.name)
      if (from === to) {
        throw new RangeError(
          `net.partition(): cannot cut ${name(from)} from itself; pass two different endpoints.`,
        )
      }
      trace.push(`partition ${name(from)} ${name(to)}${partitionOptions.oneWay ? ' one-way' : ''}`)
      cuts.push({ from, to })
      if (!partitionOptions.oneWay) cuts.push({ from: to, to: from })
    },

    heal() {
      usable('heal')
      trace.push('heal')
      const cut = new Set(cuts.flatMap((c) => [c.from, c.to]))
      cuts.length = 0
      for (const device of devices) if (cut.has(device) && !device.crashed) reset(device, 0)
    },

    offline(device) {
      const state = own(device, 'offline')
      trace.push(`offline ${state.name}`)
      state.online = false
      if (!state.crashed) disconnect(state)
    },

    online(device) {
      const state = own(device, 'online')
      trace.push(`online ${state.name}`)
      state.online = true
      connect(state)
    },

    async crash(device) {
      const state = own(device, 'crash')
      if (state.crashed) return
      const storage = state.storage as StorageAdapter & { reopen?: () => StorageAdapter }
      // Checked before anything changes: a refused crash leaves the device running as it was.
      if (typeof storage.reopen !== 'function' && !state.factory) {
        throw new Error(
          `Cannot crash ${state.name}: its storage has no reopen(); pass a factory as storage to reopen it.`,
        )
      }
      trace.push(`crash ${state.name}`)
      state.crashed = true
      state.openAtCrash = state.client.conversations().map((c) => c.id as string)
      retire(state)
      const abandoned = state.client
      // Only what the storage committed survives: the old handle is closed before anything else.
      if (typeof storage.reopen === 'function') state.storage = storage.reopen()
      else {
        await storage.close().catch(() => {})
        state.storage = await state.factory!()
      }
      // With its storage handle gone the abandoned client can write nothing; closing it makes its
      // callers (whenSynced, open, send) fail with client/closed or storage/closed instead of hanging.
      await abandoned.close().catch(() => {})
    },

    async restart(device) {
      const state = own(device, 'restart')
      if (!state.crashed) await net.crash(device)
      trace.push(`restart ${state.name}`)
      state.crashed = false
      const ids = state.openAtCrash?.length
        ? state.openAtCrash
        : (state.options.conversations ?? conversations)
      state.openAtCrash = undefined
      await startClient(state, ids)
      return state
    },

    jump(device, ms) {
      const state = own(device, 'jump')
      checkNumber(ms, `net.jump(${state.name}): ms`, { integer: true })
      trace.push(`jump ${state.name} ${ms}`)
      state.skewMs += ms
    },

    advance(ms) {
      usable('advance')
      checkNumber(ms, 'net.advance(): ms', { min: 0 })
      trace.push(`advance ${ms}`)
      const to = scheduler.now + ms
      pull()
      while (scheduler.step(to)) pull()
      scheduler.moveTo(to)
    },

    async settle(settleOptions = {}) {
      usable('settle')
      const maxMs = checkNumber(settleOptions.maxMs ?? 86_400_000, 'net.settle(): maxMs', { min: 0 })
      const limit = scheduler.now + maxMs
      // Quiet means three real ticks in a row with nothing scheduled: storage writes and the
      // clients' async work land on real ticks, not in virtual time.
      for (let quiet = 0; quiet < 3; ) {
        await yieldReal(quiet > 0 ? 1 : undefined)
        pull()
        const next = scheduler.next()
        if (next === undefined) {
          quiet++
          continue
        }
        quiet = 0
        if (next > limit) throw settleError(net, maxMs, pendingReport(devices, scheduler.pending()))
        scheduler.step()
        pull()
      }
    },

    async close() {
      if (closed) return
      closed = true
      for (const device of devices) {
        if (device.crashed) continue
        device.timers.cancelAll()
        await device.client.close().catch(() => {})
      }
    },
  }
  return net
}
