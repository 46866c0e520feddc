import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { startServer } from './helpers.js'
import { RawY } from './y-raw.js'

describe('/y/ limits', () => {
  it('closes a half-open /y/ link (no frames, no pongs) after idleTimeoutMs, and keeps one that answers pings', async () => {
    const server = await startServer({ limits: { idleTimeoutMs: 300 } })
    // autoPong off: the server's pings go unanswered, as on a link that died without a FIN.
    const silent = new RawY(
      new WebSocket(RawY.url(server.url, 'notes', { token: 't-alice' }), { autoPong: false }),
    )
    const alive = await RawY.open(server.url, 'notes', { token: 't-bob' })
    const started = Date.now()
    expect(await silent.closed).toMatchObject({ code: 4000 })
    expect(Date.now() - started).toBeLessThan(2_000)
    // The answering one sent nothing either, yet is still open well past the timeout.
    await alive.barrier()
    expect(alive.ws.readyState).toBe(WebSocket.OPEN)
  })

  it('drops /y/ messages past the rate, and closes 4429 on sustained abuse', async () => {
    const server = await startServer({ limits: { framesPerSecond: 20 } })
    const client = await RawY.open(server.url, 'notes', { token: 't-alice' })
    await client.barrier()
    for (let i = 0; i < 200; i++) client.ws.send(new Uint8Array([3]))
    expect(await client.closed).toMatchObject({ code: 4429 })
  })

  it('closes a /y/ connection past maxRefusals refused updates, and refuses the user’s next one', async () => {
    const server = await startServer({ limits: { maxRefusals: 3 } })
    const reader = await RawY.open(server.url, 'notes', { token: 't-reader' })
    // A read-only user's writes are refused; the stock protocol cannot say so, but counts them.
    for (let i = 0; i < 4; i++) {
      const doc = new Y.Doc()
      doc.getText('t').insert(0, 'not yours')
      reader.sendUpdate(Y.encodeStateAsUpdate(doc))
    }
    expect(await reader.closed).toMatchObject({ code: 4400 })
    const again = await RawY.open(server.url, 'notes', { token: 't-reader' })
    expect(await again.closed).toMatchObject({ code: 4429 })
  })
})
