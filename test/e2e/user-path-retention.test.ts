import { type Client, type Conversation, createClient, memoryStorage } from '@tidings/core'
import { websocketTransport } from '@tidings/transport-websocket'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startServer, waitFor } from './helpers.js'

const HOUR = 60 * 60 * 1000
const clients: Client[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
})
const connect = (url: string, user: string, now: () => number) => {
  const transport = websocketTransport({
    url,
    token: `t-${user}`,
    WebSocket,
    now,
    backoff: { base: 50, cap: 500 },
  })
  const client = createClient({
    user,
    storage: memoryStorage(),
    transport,
    clock: { now },
    receiptDelay: 0,
    periodMs: HOUR,
  })
  clients.push(client)
  return {
    client,
    offline: () => transport.disconnect(),
    online: () => transport.connect({ user, device: client.device! }),
  }
}
const exported = async (c: Conversation) => {
  let out = ''
  for await (const line of c.export()) out += line
  return out
}

describe('user path: retention, pins, deletes and import on a real server', () => {
  it('server retention: unread drops what it dropped; a pin edited offline keeps the latest; deletes leave no text', async () => {
    const server = await startServer()
    const real = Date.now
    // Alice writes old messages "three hours ago" with a clock that is 3 h behind (the server accepts the past).
    const a = connect(server.url, 'alice', () => real() - 3 * HOUR)
    const b = connect(server.url, 'bob', real)
    const [ca, cb] = [await a.client.open('room'), await b.client.open('room')]
    const old = await ca.send('old, pinned')
    const gone = await ca.send('old secret quokka')
    await a.client.whenSynced()
    await waitFor(() => cb.messages().length === 2, 'bob has both', { watch: [cb] })
    await cb.pin(old.id)
    await cb.pin(gone.id)
    a.offline()
    await ca.edit(old.id, 'old, pinned, edited offline')
    await ca.delete(gone.id)
    a.online()
    await a.client.whenSynced()
    await waitFor(
      () => cb.pins().length === 1 && cb.pins()[0]!.body === 'old, pinned, edited offline',
      'pin follows',
      {
        watch: [cb],
      },
    )
    const a2 = connect(server.url, 'alice', real)
    const ca2 = await a2.client.open('room')
    const recent = await ca2.send('recent')
    await waitFor(() => cb.messages().some((m) => m.id === recent.id), 'bob has recent', { watch: [cb] })
    expect(cb.unreadIds().sort()).toEqual([old.id, recent.id].sort())
    server.setRetainedFrom('room', real() - HOUR)
    await waitFor(() => cb.retainedFrom > 0 && ca2.retainedFrom > 0, 'retention reached', {
      watch: [cb, ca2],
    })
    await waitFor(() => cb.unreadIds().join() === recent.id, 'only recent unread', { watch: [cb] })
    for (const c of [ca, ca2, cb]) {
      expect(c.pins().map((p) => p.body)).toEqual(['old, pinned, edited offline'])
      expect(await exported(c)).not.toContain('quokka')
    }
  })

  it('import() while online on a real server of an export this device wrote reaches a peer', async () => {
    const server = await startServer()
    const a = connect(server.url, 'alice', Date.now)
    const b = connect(server.url, 'bob', Date.now)
    const s = await a.client.open('src')
    const m = await s.send('imported one')
    await s.send('imported two')
    await s.edit(m.id, 'imported one, edited')
    const dump = await exported(s)
    const [ca, cb] = [await a.client.open('room'), await b.client.open('room')]
    await Promise.all([a.client.whenSynced(), b.client.whenSynced()])
    await ca.import(dump)
    await a.client.whenSynced()
    await waitFor(() => cb.messages().length === 2, 'bob has the import', { watch: [cb] })
    expect(cb.messages().map((x) => x.body)).toEqual(['imported one, edited', 'imported two'])
    expect(server.errors).toEqual([])
  })
})
