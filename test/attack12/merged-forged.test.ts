import type { MessageRecord } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  aliceOfflineMessage,
  body,
  device,
  policy,
  rawSocket,
  roomSeenBy,
  startServer,
  waitFor,
} from './kit.js'

// Merged frames (issue 12): the server now receives updates that carry many messages at once.
// A member merges her own message with one forged in another device's name: the whole frame must
// be refused (a refused update changes nothing), and her own part must not slip through with it.
const ROOM = 'merge-room'

/** An update, under a fresh clientID, that sets `records` on the lane map `m`. */
const lane = (records: Record<string, MessageRecord>) => {
  const doc = new Y.Doc()
  const m = doc.getMap('m')
  doc.transact(() => {
    for (const [key, record] of Object.entries(records)) m.set(key, record)
  })
  return Y.encodeStateAsUpdate(doc)
}

describe("a merged frame carrying another device's message", () => {
  it('is refused whole: neither part is stored or forwarded', async () => {
    const { server } = await startServer(policy())
    const alice = await aliceOfflineMessage(server.url, ROOM, 'genuine')
    const mallory = device(server.url, 'mallory')
    await (await mallory.client.open(ROOM)).send(body('hello'), { priority: 'urgent' })
    await mallory.client.whenSynced()
    const malloryDev = mallory.client.device as string
    await mallory.close()
    const watcher = await roomSeenBy(server.url, 'bob', ROOM)

    const template = (() => {
      const doc = new Y.Doc()
      Y.applyUpdate(doc, alice.entry.update)
      return doc.getMap('m').get(alice.message.id) as MessageRecord
    })()
    const own = lane({
      [`${malloryDev}.900`]: {
        ...template,
        author: 'mallory',
        device: malloryDev as never,
        body: { text: 'mine' },
      },
    })
    const forged = lane({ [`${alice.deviceId}.900`]: { ...template, body: { text: 'alice says: wire it' } } })
    const merged = Y.mergeUpdates([own, forged])

    const socket = await rawSocket(server.url)
    socket.send({ type: 'auth', token: 't-mallory', device: malloryDev })
    socket.send({ type: 'subscribe', conversation: ROOM, version: 0 })
    socket.send({ type: 'update', doc: alice.entry.doc, ref: 5, update: merged })
    await waitFor(
      () => socket.frames.some((f) => f.type === 'error' && f.ref === 5),
      'the merged frame refused',
    )
    expect(socket.frames.some((f) => f.type === 'ack' && f.refs.includes(5))).toBe(false)

    // Control: her own part alone is a valid update, so the refusal above was for the forgery.
    socket.send({ type: 'update', doc: alice.entry.doc, ref: 6, update: own })
    await waitFor(
      () => socket.frames.some((f) => f.type === 'ack' && f.refs.includes(6)),
      'her own part acked',
    )
    await waitFor(() => watcher.messages().some((m) => m.id === `${malloryDev}.900`), 'her part forwarded', {
      watch: [watcher],
    })
    const seen = (await roomSeenBy(server.url, 'carol', ROOM)).messages()
    expect(seen.map((m) => m.id)).not.toContain(`${alice.deviceId}.900`)
    expect(watcher.messages().map((m) => m.id)).not.toContain(`${alice.deviceId}.900`)
  })
})
