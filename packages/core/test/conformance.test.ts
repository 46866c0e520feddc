import { describe } from 'vitest'
import { runStorageConformance, runTransportConformance } from '../src/conformance/index.js'
import { loopbackHub, memoryStorage, type StorageAdapter, TidingsError } from '../src/index.js'

/** A handle on a store that closes on its own, so a new handle can "reopen" the same bytes. */
const handle = (store: StorageAdapter): StorageAdapter => {
  let closed = false
  const guard =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (closed) throw new TidingsError('storage/closed', 'This handle was closed.')
      return call(...args)
    }
  return {
    listDocs: guard(store.listDocs),
    load: guard(store.load),
    write: guard(store.write),
    getMeta: guard(store.getMeta),
    outbox: guard(store.outbox),
    compact: guard(store.compact),
    ...(store.compactTail ? { compactTail: guard(store.compactTail) } : {}),
    drop: guard(store.drop),
    loadAfter: guard(store.loadAfter!),
    claimMeta: guard(store.claimMeta!),
    withLock: guard(store.withLock!) as NonNullable<StorageAdapter['withLock']>,
    close: async () => {
      closed = true
    },
  }
}

describe('memoryStorage', () => {
  runStorageConformance(async () => ({ adapter: memoryStorage() }))
})

// Memory cannot reopen; handles on one store stand in for it, to run the durability checks too,
// and two open at once stand in for two processes sharing a store.
describe('memoryStorage through reopenable handles', () => {
  runStorageConformance(
    async () => {
      const store = memoryStorage()
      return {
        adapter: handle(store),
        reopen: async () => handle(store),
        peer: async () => handle(store),
        teardown: () => store.close(),
      }
    },
    { runs: 25 },
  )
})

// Each test has a hub of its own, and hub.flush() mostly waits on timers: run them side by side.
for (const manual of [false, true]) {
  describe.concurrent(`loopbackHub (${manual ? 'manual' : 'auto'} delivery)`, () => {
    runTransportConformance(async () => {
      const hub = loopbackHub({ manual })
      return { transports: [hub.transport(), hub.transport()], flush: () => hub.flush() }
    })
  })
}
