import { describe, expect, it } from 'vitest'
import { jumpingDevice, startServer, waitFor } from './helpers.js'

const DAY = 24 * 60 * 60 * 1000
const connect = jumpingDevice

describe('the clock jumps a day fast after the server offset was measured', () => {
  it('a read receipt written offline after the jump is re-published and reaches the author', async () => {
    const server = await startServer()
    const a = connect(server.url, 'alice')
    const b = connect(server.url, 'bob')
    const [ca, cb] = [await a.client.open('room'), await b.client.open('room')]
    const m = await ca.send('read me')
    await waitFor(() => ca.status(m.id) === 'delivered', 'delivered', { watch: [ca] })
    b.offline()
    b.clock.skew = DAY // the phone's clock jumps a day ahead while offline
    await cb.markRead(m.id)
    b.online()
    await waitFor(() => ca.status(m.id) === 'read', 'alice sees read', { watch: [ca] })
    expect(ca.readBy(m.id)).toEqual(['bob'])
    await b.client.whenSynced()
    expect(cb.status(m.id)).toBe('read')
    // Nothing stays refused: a later reconnect brings no new clock/skew refusal.
    const refusals = b.errors.filter((code) => code === 'clock/skew').length
    b.offline()
    b.online()
    await b.client.whenSynced()
    const more = await cb.send('after the reconnect')
    await waitFor(() => ca.messages().some((x) => x.id === more.id), 'alice gets the next message', {
      watch: [ca],
    })
    // The ack to bob and the forward to alice leave the server independently: wait for bob's.
    await b.client.whenSynced()
    expect(b.errors.filter((code) => code === 'clock/skew').length).toBe(refusals)
    expect(cb.pending()).toEqual([])
    expect(server.errors).toEqual([])
  })

  it('a message sent while connected after the jump is re-stamped at once; whenSynced waits for it', async () => {
    const server = await startServer()
    const a = connect(server.url, 'alice')
    const b = connect(server.url, 'bob')
    const [ca, cb] = [await a.client.open('room'), await b.client.open('room')]
    await ca.send('first')
    await a.client.whenSynced()
    a.clock.skew = DAY // NTP or the user moves the clock a day ahead while the link stays up
    const m = await ca.send('written after the jump')
    // whenSynced promises "every outbox entry acknowledged": it resolves only after m's ack.
    await a.client.whenSynced()
    expect(ca.status(m.id)).not.toBe('pending')
    expect(a.errors).toContain('clock/skew')
    await waitFor(() => cb.messages().some((x) => x.id === m.id), 'bob gets m', { watch: [cb] })
    expect(cb.messages().map((x) => x.body)).toEqual(['first', 'written after the jump'])
    expect(server.errors).toEqual([])
  })
})
