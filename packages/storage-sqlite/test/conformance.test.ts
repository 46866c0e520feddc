import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runStorageConformance } from '@tidings/core/conformance'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { describe } from 'vitest'

describe('sqliteStorage', () => {
  // Every run creates and fsyncs a real file: allow more than memory storage needs on a busy machine.
  runStorageConformance(
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tidings-sqlite-conformance-'))
      const path = join(dir, 'store.db')
      return {
        adapter: sqliteStorage({ path }),
        reopen: async () => sqliteStorage({ path }),
        teardown: async () => rmSync(dir, { recursive: true, force: true }),
      }
    },
    { timeout: 120_000 },
  )
})
