import { type Client, type Conversation, createClient, memoryStorage } from '@tidings/core'
import { websocketTransport } from '@tidings/transport-websocket'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startServer, waitFor } from './helpers.js'

// import() of an export another device wrote (a backup restored onto a new device), on a real
// server: statuses say `sent` only for what the server acknowledged.
const HOUR = 60 * 60 * 1000
const clients: Client[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
})
const connect = (url: string, user: string) => {
  const transport = websocketTransport({
    url,
    token: `t-${user}`,
    WebSocket,
    backoff: { base: 50, cap: 500 },
  })
  const client = createClient({ user, storage: memoryStorage(), transport, receiptDelay: 0, periodMs: HOUR })
  const errors: string[] = []
  client.on('error', (e) => errors.push(e.code))
  clients.push(client)
  return { client, errors }
}
const exported = async (c: Conversation) => {
  let out = ''
  for await (const line of c.export()) out += line
  return out
}

describe('import of another device export on a real server', () => {
  it("keeps another device's unsent messages pending, listed in pending(), refusal reported", async () => {
    const server = await startServer()
    const src = createClient({ user: 'alice', periodMs: HOUR })
    clients.push(src)
    const s = await src.open('src')
    const m = await s.send('imported one')
    await s.send('imported two')
    await s.edit(m.id, 'imported one, edited')
    const dump = await exported(s)
    const a = connect(server.url, 'alice')
    const b = connect(server.url, 'bob')
    const [ca, cb] = [await a.client.open('room'), await b.client.open('room')]
    await Promise.all([a.client.whenSynced(), b.client.whenSynced()])
    await ca.import(dump)
    // Refused entries do not hold whenSynced forever: it resolves once the server answered.
    await a.client.whenSynced()
    // Nobody may write for another device: the server refuses, and says so.
    expect(a.errors).toContain('permission/denied')
    expect(ca.messages().map((x) => [x.body, x.status])).toEqual([
      ['imported one, edited', 'pending'],
      ['imported two', 'pending'],
    ])
    expect(ca.pending().map((x) => x.body)).toEqual(['imported one, edited', 'imported two'])
    expect(cb.messages()).toEqual([])
    expect(server.errors).toEqual([])
  })

  it('restoring a synced conversation onto a new device reaches sent', async () => {
    const server = await startServer()
    const old = connect(server.url, 'alice')
    const co = await old.client.open('room')
    await co.send('backed up one')
    await co.send('backed up two')
    await old.client.whenSynced()
    const dump = await exported(co)
    // Same conversation: everything the export holds is stored on the server already.
    const restored = connect(server.url, 'alice')
    const cr = await restored.client.open('room')
    await restored.client.whenSynced()
    await cr.import(dump)
    await waitFor(() => cr.pending().length === 0, 'restore acknowledged', { watch: [cr] })
    await restored.client.whenSynced()
    expect(cr.messages().map((x) => [x.body, x.status])).toEqual([
      ['backed up one', 'sent'],
      ['backed up two', 'sent'],
    ])
    expect(restored.errors).toEqual([])
    expect(server.errors).toEqual([])
  })
})
