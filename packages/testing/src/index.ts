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
export { chatText } from './chat-text.js'
export { type FaultyProxy, type FaultyProxyOptions, faultyProxy, type ProxyState } from './faulty-proxy.js'
export { type Figures, InvariantError } from './invariants.js'
export type { LinkConditions, LinkStats } from './link.js'
export { createSimulatedNetwork } from './network.js'
export type {
  DeviceOptions,
  DeviceStorage,
  Endpoint,
  SimulatedDevice,
  SimulatedNetwork,
  SimulatedNetworkOptions,
} from './network-types.js'
export type { Operation, OperationKind, OperationWeights, RaceAction } from './operations.js'
export type { RunRecord, SentMessage } from './runner.js'
export { prng } from './scheduler.js'
