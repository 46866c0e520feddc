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
import { type LinkConditions, type LinkStats, Pipe } from './link.js'
import type {
  DeviceOptions,
  DeviceStorage,
  Endpoint,
  SimulatedDevice,
  SimulatedNetwork,
  SimulatedNetworkOptions,
} from './network-types.js'
import { prng, Scheduler } from './scheduler.js'

interface DeviceState extends SimulatedDevice {
  name: string
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
  /** Bumped on every disconnect: frames of an older connection are gone. */
  epoch: number
  /** A frame was lost on this connection: it carries nothing more until the device reconnects. */
  dead: boolean
  up: Pipe
  down: Pipe
  timers: ReturnType<Scheduler['timers']>
}

interface Cut {
  readonly from: Endpoint
  readonly to: Endpoint
}

const yieldReal = (ms?: number) =>
  new Promise<void>((resolve) =>
    ms === undefined && typeof setImmediate === 'function'
      ? setImmediate(resolve)
      : setTimeout(resolve, ms ?? 0),
  )

export const createSimulatedNetwork = (options: SimulatedNetworkOptions = {}): SimulatedNetwork => {
  const seed = options.seed ?? 1
  const scheduler = new Scheduler(options.start ?? Date.UTC(2026, 0, 5, 12))
  const random = prng(seed)
  const hub = loopbackHub({ manual: true, ...(options.accept ? { accept: options.accept } : {}) })
  const conversations = options.conversations ?? ['room']
  const heartbeatMs = options.heartbeatMs ?? 10_000
  const reconnectMs = options.reconnectMs ?? 1_000
  const stats: LinkStats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, cut: 0 }
  const devices: DeviceState[] = []
  const byLink = new Map<number, DeviceState>()
  /** Links of crashed clients: anything they still produce is dropped. */
  const retired = new Set<number>()
  const cuts: Cut[] = []
  const trace: string[] = []
  const perUser = new Map<string, number>()

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

  const pipes = (device: DeviceState) => {
    const env = {
      scheduler,
      random,
      stats,
      conditions: () => device.conditions ?? options.link ?? {},
      epoch: () => device.epoch,
      lost: () => {
        // The connection is dead from here: nothing more gets through until the device reconnects.
        device.dead = true
        const epoch = device.epoch
        scheduler.at(scheduler.now + heartbeatMs, () => {
          if (device.epoch === epoch) reset(device, reconnectMs)
        })
      },
    }
    return {
      up: new Pipe({ ...env, blocked: (frame) => blocked(device, frame) }),
      down: new Pipe({ ...env, blocked: (frame) => blocked(device, frame) }),
    }
  }

  const disconnect = (device: DeviceState) => {
    device.epoch++
    device.dead = false
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
    scheduler.at(scheduler.now + delay, () => {
      if (device.epoch === epoch) connect(device)
    })
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
    const link = hub.transport()
    device.link = link
    byLink.set(link.id, device)
    Object.assign(device, pipes(device))
    device.timers = scheduler.timers()
    const client = createClient({
      receiptDelay: 0,
      ...options.client,
      ...device.options.client,
      user: device.user,
      storage: device.storage,
      transport: link,
      clock: { now: () => device.now() },
      random: prng(seed ^ ((devices.indexOf(device) + 1) * 0x9e3779b1) ^ device.epoch),
      timers: device.timers,
      periodMs: device.periodMs,
    })
    device.client = client
    client.on('error', (error) => device.errors.push(error))
    for (const id of open) await client.open(id)
    device.deviceId = client.device!
    if (!device.online) disconnect(device)
    pull()
  }

  const openStorage = async (storage: DeviceStorage | undefined) =>
    storage === undefined ? memoryStorage() : typeof storage === 'function' ? await storage() : storage

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
    note: (step) => void trace.push(step),

    async device(user, deviceOptions = {}) {
      const n = (perUser.get(user) ?? 0) + 1
      perUser.set(user, n)
      const device = {
        name: `${user}#${n}`,
        user,
        errors: [],
        skewMs: deviceOptions.skewMs ?? 0,
        periodMs: deviceOptions.periodMs ?? options.client?.periodMs ?? DEFAULT_PERIOD_MS,
        online: deviceOptions.online ?? true,
        crashed: false,
        conditions: deviceOptions.link,
        storage: await openStorage(deviceOptions.storage),
        factory: typeof deviceOptions.storage === 'function' ? deviceOptions.storage : undefined,
        options: deviceOptions,
        epoch: 0,
        // Whole ms, as Date.now() gives: a throttled link's transfer times are fractional.
        now: () => Math.floor(scheduler.now) + device.skewMs,
      } as unknown as DeviceState
      devices.push(device)
      trace.push(`device ${device.name} ${JSON.stringify({ ...deviceOptions, storage: undefined })}`)
      await startClient(device, deviceOptions.conversations ?? conversations)
      return device
    },

    link(device, conditions) {
      trace.push(`link ${device.name} ${JSON.stringify(conditions)}`)
      ;(device as DeviceState).conditions = conditions
    },

    partition(a, b, partitionOptions = {}) {
      const name = (e: Endpoint) => (e === 'server' ? e : e.name)
      trace.push(`partition ${name(a)} ${name(b)}${partitionOptions.oneWay ? ' one-way' : ''}`)
      cuts.push({ from: a, to: b })
      if (!partitionOptions.oneWay) cuts.push({ from: b, to: a })
    },

    heal() {
      trace.push('heal')
      const cut = new Set(cuts.flatMap((c) => [c.from, c.to]))
      cuts.length = 0
      for (const device of devices) if (cut.has(device)) reset(device, 0)
    },

    offline(device) {
      trace.push(`offline ${device.name}`)
      const state = device as DeviceState
      state.online = false
      disconnect(state)
    },

    online(device) {
      trace.push(`online ${device.name}`)
      const state = device as DeviceState
      state.online = true
      connect(state)
    },

    async crash(device) {
      trace.push(`crash ${device.name}`)
      const state = device as DeviceState
      if (state.crashed) return
      state.crashed = true
      state.timers.cancelAll()
      disconnect(state)
      byLink.delete(state.link.id)
      retired.add(state.link.id)
      // The old client is abandoned, never closed: only what its storage committed survives.
      const storage = state.storage as StorageAdapter & { reopen?: () => StorageAdapter }
      if (typeof storage.reopen === 'function') state.storage = storage.reopen()
      else if (state.factory) {
        await storage.close().catch(() => {})
        state.storage = await state.factory()
      } else {
        throw new Error(
          `Cannot crash ${device.name}: its storage has no reopen(); pass a factory as storage to reopen it.`,
        )
      }
    },

    async restart(device) {
      const state = device as DeviceState
      const open = state.crashed ? [] : state.client.conversations().map((c) => c.id as string)
      if (!state.crashed) await net.crash(device)
      trace.push(`restart ${device.name}`)
      state.crashed = false
      const ids = open.length > 0 ? open : (state.options.conversations ?? conversations)
      await startClient(state, ids)
      return state
    },

    jump(device, ms) {
      trace.push(`jump ${device.name} ${ms}`)
      ;(device as DeviceState).skewMs += ms
    },

    advance(ms) {
      trace.push(`advance ${ms}`)
      const to = scheduler.now + ms
      pull()
      while (scheduler.step(to)) pull()
      scheduler.moveTo(to)
    },

    async settle(settleOptions = {}) {
      const limit = scheduler.now + (settleOptions.maxMs ?? 24 * 60 * 60 * 1000)
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
        if (next > limit) {
          throw new Error(
            `The network did not settle within ${settleOptions.maxMs ?? 86_400_000} ms of virtual time (seed ${seed}).`,
          )
        }
        scheduler.step()
        pull()
      }
    },

    async close() {
      for (const device of devices) {
        if (device.crashed) continue
        device.timers.cancelAll()
        await device.client.close().catch(() => {})
      }
    },
  }
  return net
}
