import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { aliceOfflineMessages, policy, rawSocket, roomSeenBy, startServer, waitFor } from './kit.js'

// Merged frames (issue 12) after a lost ack: the server stored entry 1 but its ack never arrived, so
// the client's next connection sends entries 1 and 2 merged in one update. The server must accept
// and ack it (entry 1 is the sender's own content), store entry 2, and forward entry 1 no second time.
const ROOM = 'overlap-room'

describe('a merged frame overlapping content the server already stored', () => {
  // Was FINDING (attack12 #6), fixed: the merged frame was acked and entry 2 stored, but the server
  // forwarded the update as it came: every subscriber received entry 1 a second time. The server
  // now stores and forwards only what it lacked of an update that overlaps what it holds.
  it('is acked, adds only what is new, and forwards nothing twice', async () => {
    const { server } = await startServer(policy())
    const alice = await aliceOfflineMessages(server.url, ROOM, ['first', 'second'])
    const [e1, e2] = alice.entries as [(typeof alice.entries)[0], (typeof alice.entries)[0]]
    const watcher = await roomSeenBy(server.url, 'bob', ROOM)
    const received = new Map<string, number>()
    const count = (update: Uint8Array) => {
      for (const s of Y.decodeUpdate(update).structs)
        if (s instanceof Y.Item && s.parentSub?.includes('.'))
          received.set(s.parentSub, (received.get(s.parentSub) ?? 0) + 1)
    }
    const spy = await rawSocket(server.url)
    spy.send({ type: 'auth', token: 't-carol', device: 'caroldev1' })
    spy.send({ type: 'subscribe', conversation: ROOM, version: 0 })
    await waitFor(() => spy.frames.some((f) => f.type === 'manifest'), 'the spy subscribed')

    const first = await rawSocket(server.url)
    first.send({ type: 'auth', token: 't-alice', device: alice.deviceId })
    first.send({ type: 'subscribe', conversation: ROOM, version: 0 })
    first.send({ type: 'update', doc: e1.doc, ref: 1, update: e1.update })
    await waitFor(() => watcher.messages().some((m) => m.id === alice.messages[0]!.id), 'entry 1 forwarded', {
      watch: [watcher],
    })
    first.ws.terminate() // the ack is lost with the link

    const second = await rawSocket(server.url)
    second.send({ type: 'auth', token: 't-alice', device: alice.deviceId })
    second.send({ type: 'subscribe', conversation: ROOM, version: 0 })
    second.send({ type: 'update', doc: e1.doc, ref: 1, update: Y.mergeUpdates([e1.update, e2.update]) })
    await waitFor(
      () =>
        second.frames.some(
          (f) => (f.type === 'ack' && f.refs.includes(1)) || (f.type === 'error' && f.ref === 1),
        ),
      'the merged frame answered',
    )
    expect(second.frames.filter((f) => f.type === 'error')).toEqual([])
    await waitFor(() => watcher.messages().some((m) => m.id === alice.messages[1]!.id), 'entry 2 forwarded', {
      watch: [watcher],
    })
    for (const f of spy.frames) if (f.type === 'update' || f.type === 'sync-step2') count(f.update)
    expect(Object.fromEntries(received)).toEqual({ [alice.messages[0]!.id]: 1, [alice.messages[1]!.id]: 1 })
  })
})
