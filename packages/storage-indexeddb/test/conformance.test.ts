import { runStorageConformance } from '@tidings/core/conformance'
import { describe } from 'vitest'
import { fakeBrowser } from './helpers.js'

describe('indexeddbStorage', () => {
  runStorageConformance(async () => {
    const browser = fakeBrowser()
    return {
      adapter: browser.open({ name: 'conformance' }),
      reopen: async () => browser.open({ name: 'conformance' }),
    }
  })
})
