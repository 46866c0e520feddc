export type { ConformanceOptions } from './arbitraries.js'
export { runStorageConformance, type StorageConformanceSetup } from './storage.js'
export { runTransportConformance, type TransportConformanceSetup } from './transport.js'
