import { runStorageConformance } from '@tidings/core/conformance'
import { postgresStorage } from '@tidings/storage-postgres'
import { describe } from 'vitest'
import { dropSchema, freshSchema, PG_URL, pgReachable } from './helpers.js'

const reachable = await pgReachable()

// Each run gets a schema of its own; `peer` is a second pool on it, as a second server process.
describe.skipIf(!reachable)('postgresStorage', () => {
  runStorageConformance(
    async () => {
      const schema = freshSchema()
      const open = () => postgresStorage({ url: PG_URL, schema, max: 4 })
      return {
        adapter: open(),
        reopen: async () => open(),
        peer: async () => open(),
        teardown: () => dropSchema(schema),
      }
    },
    { runs: Number(process.env.FC_RUNS ?? 20), timeout: 180_000 },
  )
})
