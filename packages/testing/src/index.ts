export {
  assertConverged,
  ConvergenceError,
  type ConvergenceOptions,
  type Difference,
  type Replica,
} from './assert.js'
export { type FaultyProxy, type FaultyProxyOptions, faultyProxy, type ProxyState } from './faulty-proxy.js'
export type { LinkConditions, LinkStats } from './link.js'
export {
  createSimulatedNetwork,
  type DeviceOptions,
  type DeviceStorage,
  type Endpoint,
  type SimulatedDevice,
  type SimulatedNetwork,
  type SimulatedNetworkOptions,
} from './network.js'
export { prng } from './scheduler.js'
