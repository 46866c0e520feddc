import { runStorageConformance } from '@tidings/core/conformance'
import { describe } from 'vitest'
import { fakeBrowser, memoryLocks } from './helpers.js'

describe('indexeddbStorage', () => {
  runStorageConformance(async () => {
    const browser = fakeBrowser()
    return {
      adapter: browser.open({ name: 'conformance' }),
      reopen: async () => browser.open({ name: 'conformance' }),
    }
  })
})

// Holding a Web Lock, the adapter writes from the doc records and outbox keys it keeps in memory.
describe('indexeddbStorage holding a Web Lock', () => {
  runStorageConformance(async () => {
    const browser = fakeBrowser()
    const locks = memoryLocks()
    return {
      adapter: browser.open({ name: 'conformance', locks }),
      reopen: async () => browser.open({ name: 'conformance', locks }),
    }
  })
})
