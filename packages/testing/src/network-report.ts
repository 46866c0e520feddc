import { replay } from './assert.js'
import type { SimulatedDevice, SimulatedNetwork } from './network-types.js'
import type { EventTag } from './scheduler.js'

/** How an error names a device it was given, whatever was passed. */
export const deviceName = (device: unknown): string => {
  const name = (device as { name?: unknown } | null)?.name
  return typeof name === 'string' ? name : String(device)
}

/** The error for a device a network did not make: of another network, or no device at all. */
export const strangerError = (device: unknown, call: string, ofAnotherNetwork: boolean): TypeError => {
  const name = deviceName(device)
  return new TypeError(
    ofAnotherNetwork
      ? `net.${call}(): ${name} belongs to another simulated network; pass a device this network's device() made.`
      : `net.${call}(): ${name} is not a device of this network; pass one that net.device() returned.`,
  )
}

const count = (n: number, one: string, many: string) => (n === 0 ? [] : [n === 1 ? one : `${n} ${many}`])

/**
 * What still keeps a network busy, device by device: frames on its links, its client's timers, a
 * reconnect it waits for. Events without a device are raw hub links' frames.
 */
export const pendingReport = (
  devices: readonly (SimulatedDevice & { up: { inFlight: number }; down: { inFlight: number } })[],
  tags: readonly EventTag[],
): string => {
  const parts: string[] = []
  for (const device of devices) {
    const mine = tags.filter((t) => t.owner === device.name)
    const timers = mine.filter((t) => t.kind === 'timer').length
    const reconnects = mine.filter((t) => t.kind === 'reconnect').length
    const frames = device.crashed ? 0 : device.up.inFlight + device.down.inFlight
    const what = [
      ...count(frames, 'a frame in flight', 'frames in flight'),
      ...count(timers, 'a timer', 'timers'),
      ...count(reconnects, 'a reconnect', 'reconnects'),
    ]
    if (what.length > 0) parts.push(`${device.name} (${what.join(', ')})`)
  }
  return parts.length > 0 ? parts.join('; ') : 'frames of raw hub links'
}

/** The error of a settle that ran out of virtual time: what was still pending, the seed and the steps. */
export const settleError = (net: SimulatedNetwork, maxMs: number, pending: string): Error =>
  new Error(
    [
      `The network did not settle within ${maxMs} ms of virtual time (seed ${net.seed}).`,
      `Still pending: ${pending}.`,
      'A link with loss 1, a partition that is never healed, or an app timer that re-arms itself keeps it busy.',
      ...replay(net),
    ].join('\n'),
  )
