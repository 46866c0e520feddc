export {
  type BroadcastTransport,
  type BroadcastTransportEvents,
  type BroadcastTransportOptions,
  broadcastTransport,
} from './broadcast-transport.js'
export { type BroadcastChannelConstructor, type BroadcastChannelLike, channelName } from './channel.js'
export {
  defaultLocks,
  type LockManagerLike,
  type LockRequestOptions,
  type MemoryLocks,
  memoryLocks,
} from './locks.js'
export { LOG_KEY } from './request-log.js'
export { type ServeTabsOptions, serveTabs, type TabServer } from './serve-tabs.js'
export { type TabLeader, type TabLeaderOptions, tabLeader } from './tab-leader.js'
export {
  type LeaderSetup,
  type TabsTransport,
  type TabsTransportOptions,
  tabsTransport,
} from './tabs-transport.js'
