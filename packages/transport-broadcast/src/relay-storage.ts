import type { StorageAdapter, UpdateWrite } from '@tidings/core'
import type { RequestLog } from './request-log.js'

/**
 * Wraps the leader's storage: every committed batch's updates go to `committed` (local writes and
 * remote updates alike, so followers see exactly what is durable), and the request log rides along
 * in the batch that commits a follower's send.
 * @remarks Writes are chained so the log's read-modify-write never interleaves; core already
 * writes one batch at a time, so this costs nothing.
 */
export const relayStorage = (
  inner: StorageAdapter,
  log: RequestLog,
  committed: (updates: readonly UpdateWrite[]) => void,
): StorageAdapter => {
  let chain: Promise<unknown> = Promise.resolve()
  return {
    listDocs: (conversation) => inner.listDocs(conversation),
    load: (doc) => inner.load(doc),
    getMeta: (key) => inner.getMeta(key),
    outbox: () => inner.outbox(),
    compact: (doc) => inner.compact(doc),
    drop: (doc) => inner.drop(doc),
    close: () => inner.close(),
    write(batch) {
      const run = chain.then(async () => {
        const tagged = log.tag(batch)
        await inner.write(tagged.batch)
        tagged.commit()
        if (batch.updates?.length) committed(batch.updates)
      })
      chain = run.catch(() => undefined)
      return run
    },
  }
}
