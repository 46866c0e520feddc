export {
  arbitraries,
  type Model,
  type Schedule,
  type ScheduleNetworkOptions,
  type ScheduleOptions,
} from './arbitraries.js'
export {
  assertConverged,
  ConvergenceError,
  type ConvergenceOptions,
  type Difference,
  type Replica,
} from './assert.js'
export { type FaultyProxy, type FaultyProxyOptions, faultyProxy, type ProxyState } from './faulty-proxy.js'
export { type Figures, InvariantError } from './invariants.js'
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
export type { Operation, OperationKind, OperationWeights, RaceAction } from './operations.js'
export type { RunRecord, SentMessage } from './runner.js'
export { prng } from './scheduler.js'
