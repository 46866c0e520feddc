import { describe, expect, it } from 'vitest'
import { body, device, ids, startServer, waitFor } from './helpers.js'

// Issue #12: the peer received the urgent message twice, forwarded and then again in the sync
// answer for the doc the message created, and a backlog's new docs came down twice the same way.
describe('a doc created after a subscription', () => {
  it('reaches a subscribed peer once, forwarded, and is not asked for again', async () => {
    const server = await startServer()
    const sender = device(server.url, 'alice')
    const receiver = device(server.url, 'bob')
    const s = await sender.client.open('ops-room')
    const r = await receiver.client.open('ops-room')
    await Promise.all([sender.client.whenSynced(), receiver.client.whenSynced()])
    const deliveries = new Map<string, number>()
    receiver.transport.on('update', ({ doc }) => deliveries.set(doc, (deliveries.get(doc) ?? 0) + 1))

    const urgent = await s.send(body('URGENT: confirm the contract'), { priority: 'urgent' })
    await waitFor(() => ids(r).includes(urgent.id), 'the urgent message shown', { watch: [r] })
    // Frames are handled in order on both sides: once a later message of another new doc shows,
    // an answer about the first doc would have come before it.
    const later = await s.send(body('later'), { priority: 'low' })
    await waitFor(() => ids(r).includes(later.id), 'the later message shown', { watch: [r] })
    await Promise.all([sender.client.whenSynced(), receiver.client.whenSynced()])
    const urgentDocs = [...deliveries].filter(([doc]) => doc.includes('/urgent/'))
    expect(urgentDocs).toHaveLength(1)
    expect(urgentDocs[0]![1]).toBe(1)
    expect(server.errors).toEqual([])
  })
})
