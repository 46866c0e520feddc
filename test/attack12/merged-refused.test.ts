import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { body, device, jumpingDevice, startServer, waitFor } from '../e2e/helpers.js'

// Merged frames (issue 12): consecutive outbox entries of one doc leave as one update. When the
// server refuses that update for one entry (here a stamp past server time + 60 s), the others
// must still be answered: each accepted once, the bad one re-stamped, nothing lost, no status stuck.
const ROOM = 'refused-merge'
const MINUTES_FAST = 5 * 60 * 1000

/** Message keys each forwarded update carries (its items' map keys), counted over every event. */
const countKeys = (counts: Map<string, number>, update: Uint8Array) => {
  for (const struct of Y.decodeUpdate(update).structs) {
    const key = struct instanceof Y.Item ? struct.parentSub : null
    if (key) counts.set(key, (counts.get(key) ?? 0) + 1)
  }
}

describe('a merged frame the server refuses for one of its entries', () => {
  // Was FINDING (attack12 #1), fixed: every message arrived and no status stuck, but the 15 messages
  // accepted before the skewed one reached the peer twice: once forwarded one by one, then again in
  // the resent merged update and the re-stamp (fixed by forwarding only what the server lacked),
  // and in the step 2 answering the peer's step 1 for the new doc (fixed by an empty step 2 for a
  // doc created since the subscription began).
  it('answers every entry: the good ones once, the skewed one re-stamped, none lost', async () => {
    const server = await startServer()
    const sender = jumpingDevice(server.url, 'alice')
    const receiver = device(server.url, 'bob')
    const s = await sender.client.open(ROOM)
    const r = await receiver.client.open(ROOM)
    await Promise.all([sender.client.whenSynced(), receiver.client.whenSynced()])
    const counts = new Map<string, number>()
    receiver.transport.on('update', ({ doc, update }) => {
      if (doc.includes('/normal/')) countKeys(counts, update)
    })

    sender.offline()
    const good: string[] = []
    for (let i = 0; i < 15; i++) good.push((await s.send(body(`before ${i}`))).id)
    sender.clock.skew = MINUTES_FAST // the clock runs 5 minutes fast for two sends, then NTP fixes it
    const skewed = [(await s.send(body('fast 1'))).id, (await s.send(body('fast 2'))).id]
    sender.clock.skew = 0
    for (let i = 0; i < 15; i++) good.push((await s.send(body(`after ${i}`))).id)
    const all = [...good, ...skewed]
    sender.online()

    await waitFor(() => all.every((id) => r.messages().some((m) => m.id === id)), 'every message shown', {
      watch: [r],
      timeout: 20_000,
    })
    await waitFor(() => s.pending().length === 0, 'the outbox empty', { watch: [s], timeout: 20_000 })
    expect(all.map((id) => s.status(id)).filter((st) => st === 'pending' || st === 'expired')).toEqual([])
    // A good entry forwarded twice would mean the merged frame was half applied, then resent.
    expect(
      good.filter((id) => (counts.get(id) ?? 0) !== 1).map((id) => `${id}×${counts.get(id) ?? 0}`),
    ).toEqual([])
    expect(server.errors).toEqual([])
  })
})
