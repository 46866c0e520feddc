export type { ConformanceOptions } from './arbitraries.js'
export type { TransportConformanceOptions } from './awareness.js'
export { runStorageConformance, type StorageConformanceSetup } from './storage.js'
export { runTransportConformance, type TransportConformanceSetup } from './transport.js'
