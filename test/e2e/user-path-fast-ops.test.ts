import { describe, expect, it } from 'vitest'
import { jumpingDevice, startServer, waitFor } from './helpers.js'

const DAY = 24 * 60 * 60 * 1000

const connect = jumpingDevice

describe('user path: a clock that jumps a day fast while offline, after a message was sent', () => {
  it('an edit written offline a day fast still reaches the others (nothing lost)', async () => {
    const server = await startServer()
    const a = connect(server.url, 'alice')
    const b = connect(server.url, 'bob')
    const [ca, cb] = [await a.client.open('room'), await b.client.open('room')]
    const m = await ca.send('v0')
    await a.client.whenSynced()
    await waitFor(() => cb.messages().length === 1, 'bob has it', { watch: [cb] })
    a.offline()
    a.clock.skew = DAY
    await ca.edit(m.id, 'v1 edited while a day fast')
    a.online()
    await waitFor(() => cb.messages()[0]?.body === 'v1 edited while a day fast', 'bob sees the edit', {
      watch: [cb],
      timeout: 8000,
    })
    expect(ca.messages()[0]!.body).toBe('v1 edited while a day fast')
  })

  it('a delete written offline a day fast still reaches the others', async () => {
    const server = await startServer()
    const a = connect(server.url, 'alice')
    const b = connect(server.url, 'bob')
    const [ca, cb] = [await a.client.open('room'), await b.client.open('room')]
    const m = await ca.send('secret')
    await a.client.whenSynced()
    await waitFor(() => cb.messages().length === 1, 'bob has it', { watch: [cb] })
    a.offline()
    a.clock.skew = DAY
    await ca.delete(m.id)
    a.online()
    await waitFor(() => cb.messages()[0]?.deleted === true, 'bob sees the delete', {
      watch: [cb],
      timeout: 8000,
    })
  })

  it('a pin made offline a day fast reaches the author', async () => {
    const server = await startServer()
    const a = connect(server.url, 'alice')
    const b = connect(server.url, 'bob')
    const [ca, cb] = [await a.client.open('room'), await b.client.open('room')]
    const m = await ca.send('pin me')
    await a.client.whenSynced()
    await waitFor(() => cb.messages().length === 1, 'bob has it', { watch: [cb] })
    b.offline()
    b.clock.skew = DAY
    await cb.pin(m.id)
    b.online()
    await waitFor(() => ca.pins().length === 1, 'alice sees the pin', { watch: [ca], timeout: 8000 })
    expect(ca.pins()[0]!.pinnedBy).toBe('bob')
  })
})
