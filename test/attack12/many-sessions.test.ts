import { join } from 'node:path'
import { createClient } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { describe, expect, it } from 'vitest'
import { device, startServer, tempDir, waitFor } from '../e2e/helpers.js'

// Merged frames (issue 12) meet the server's cap of 16 new clientIDs per update. A phone opened
// offline 24 times, one message each time: every session writes under a fresh clientID into the same
// lane doc, so merging the backlog yields one update with 24 new clientIDs. Every message must still
// arrive, the outbox must drain, and the client must not loop on reconnects.
const ROOM = 'sessions-room'
const SESSIONS = 24

describe('a backlog written over many offline sessions', () => {
  it('arrives whole though one merged update would carry too many new clientIDs', {
    timeout: 45_000,
  }, async () => {
    const server = await startServer()
    const path = join(tempDir(), 'phone.db')
    const ids: string[] = []
    for (let s = 0; s < SESSIONS; s++) {
      const client = createClient({ user: 'ann', storage: sqliteStorage({ path }) })
      const convo = await client.open(ROOM)
      ids.push((await convo.send({ text: `session ${s}` })).id)
      await client.close()
    }
    const bob = device(server.url, 'bob')
    const b = await bob.client.open(ROOM)
    await bob.client.whenSynced()
    const ann = device(server.url, 'ann', { path })
    const a = await ann.client.open(ROOM)
    await waitFor(
      () => ids.every((id) => b.messages().some((m) => m.id === id)),
      'every session message at bob',
      {
        watch: [b],
        timeout: 30_000,
      },
    )
    await waitFor(() => a.pending().length === 0, 'the outbox drained', { watch: [a], timeout: 10_000 })
    // A client that dropped its link on every refusal would show many connects.
    const connects = ann.states.filter((s) => s.state === 'syncing').length
    expect(connects).toBeLessThanOrEqual(3)
    expect(ann.errors).toEqual([])
    expect(server.errors).toEqual([])
  })
})
