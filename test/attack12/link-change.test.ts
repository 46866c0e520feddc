import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { body, device, startServer, waitFor } from '../e2e/helpers.js'
import { shapedLink } from './link.js'

// The credit window sized from the measured link (issue 12). The link drops abruptly from 2 Mbit/s,
// 40 ms RTT to 64 kbit/s, 300 ms RTT while a backlog streams. An urgent message sent then may wait
// for what is already in flight (the window sized for the fast link), never for the queued backlog;
// and once the window has had time to learn the slow link, a second urgent waits behind about
// rate × (RTT + 100 ms) of bytes, not behind the old window. Counted in messages, not in time.
const BACKLOG = 2000
const BODY = 200

describe('a link whose bandwidth and RTT change abruptly', () => {
  it('urgent still overtakes the backlog, and the window learns the slow link', {
    timeout: 60_000,
  }, async () => {
    const server = await startServer()
    const shape = { bytesPerSecond: 250_000, oneWayMs: 20 }
    const link = await shapedLink(server.port, shape)
    const bob = device(server.url, 'bob')
    await bob.client.open('link-room')
    await bob.client.whenSynced()
    const normals = new Set<string>()
    const urgents = new Set<string>()
    bob.transport.on('update', ({ doc, update }) => {
      const into = doc.includes('/urgent/') ? urgents : doc.includes('/normal/') ? normals : undefined
      if (!into) return
      for (const s of Y.decodeUpdate(update).structs)
        if (s instanceof Y.Item && s.parentSub?.includes('.')) into.add(s.parentSub)
    })

    const ann = device(link.url, 'ann', { pingTimeout: 20_000 })
    const a = await ann.client.open('link-room')
    await ann.client.whenSynced()
    ann.offline()
    for (let i = 0; i < BACKLOG; i++) await a.send(body(`backlog ${i}`, BODY))
    ann.online()
    await waitFor(() => normals.size >= 400, '400 backlog messages at the fast rate', { timeout: 30_000 })
    const upAt400 = link.up.bytes
    const bytesPerMessage = upAt400 / normals.size // on the wire, frames and headers included

    shape.bytesPerSecond = 8_000
    shape.oneWayMs = 150
    const window1 = ann.transport.creditWindow
    const before1 = normals.size
    const u1 = await a.send(body('URGENT one'), { priority: 'urgent' })
    await waitFor(() => urgents.has(u1.id), 'the first urgent at the peer', { timeout: 30_000 })
    const behind1 = normals.size - before1
    expect(normals.size).toBeLessThan(BACKLOG)
    // In flight when it was sent: at most the window, the socket buffer (16 KiB) and one merged frame.
    expect(behind1 * bytesPerMessage).toBeLessThanOrEqual(window1 + 32 * 1024)

    // Let the window learn the slow link: 60 more messages at 64 kbit/s (about 2 s).
    const learnFrom = normals.size
    await waitFor(() => normals.size >= learnFrom + 60, 'the backlog going on slowly', { timeout: 30_000 })
    const before2 = normals.size
    const u2 = await a.send(body('URGENT two'), { priority: 'urgent' })
    await waitFor(() => urgents.has(u2.id), 'the second urgent at the peer', { timeout: 30_000 })
    const behind2 = normals.size - before2
    // 8 kB/s × (0.3 s RTT + 0.1 s) = 3.2 kB; allow three times that, plus one merged frame's worth.
    expect(behind2 * bytesPerMessage).toBeLessThanOrEqual(3 * 3_200 + 8_000 * 0.06 + 16 * 1024)
    expect(normals.size).toBeLessThan(BACKLOG)
  })
})
