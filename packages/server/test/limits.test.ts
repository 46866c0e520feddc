import { encodeFrame } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { Device, laneDoc, startServer, TestClient } from './helpers.js'

describe('limits', () => {
  it('answers malformed frames with protocol/malformed and closes 4400 after 10', async () => {
    const server = await startServer()
    const client = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    for (let i = 0; i < 9; i++) client.ws.send(new Uint8Array([99, i]))
    await client.ping()
    expect(client.errors()).toHaveLength(9)
    expect(client.errors().every((e) => e.code === 'protocol/malformed')).toBe(true)
    client.ws.send(new Uint8Array([99]))
    expect(await client.closed).toMatchObject({ code: 4400 })
  })

  it('refuses frames past the rate with quota/exceeded, and closes 4429 on sustained abuse', async () => {
    const server = await startServer({ limits: { framesPerSecond: 20 } })
    const client = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    for (let i = 0; i < 25; i++) client.send({ type: 'ping', time: i })
    await client.next((f) => f.type === 'error' && f.code === 'quota/exceeded')
    const pongs = client.frames.filter((f) => f.type === 'pong').length
    expect(pongs).toBeLessThanOrEqual(21)
    for (let i = 0; i < 100; i++) client.send({ type: 'ping', time: i })
    expect(await client.closed).toMatchObject({ code: 4429 })
  })

  it('closes a silent connection (a half-open link) after idleTimeoutMs, and keeps a pinging one', async () => {
    const server = await startServer({ limits: { idleTimeoutMs: 300 } })
    const silent = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    const alive = await TestClient.connect(server.url, 't-bob', 'bobdev1')
    const started = Date.now()
    const pinger = setInterval(() => alive.send({ type: 'ping', time: Date.now() }), 100)
    try {
      expect(await silent.closed).toMatchObject({ code: 4000 })
      expect(Date.now() - started).toBeLessThan(2_000)
      await alive.ping()
      expect(alive.ws.readyState).toBe(alive.ws.OPEN)
    } finally {
      clearInterval(pinger)
    }
  })

  it('closes a connection whose frame exceeds maxPayload (ws 1009)', async () => {
    const server = await startServer({ limits: { maxPayload: 1024 } })
    const client = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    client.ws.send(encodeFrame({ type: 'ping', time: 1 }))
    await client.next((f) => f.type === 'pong')
    client.ws.send(new Uint8Array(2048))
    expect(await client.closed).toMatchObject({ code: 1009 })
  })

  it('refuses docs past the open-docs limit with quota/exceeded', async () => {
    const server = await startServer({ limits: { maxOpenDocs: 2 } })
    const client = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await client.subscribe('room')
    await client.syncStep1('room/meta', new Y.Doc())
    await client.syncStep1('room/normal/1', new Y.Doc())
    const refused = client.later((f) => f.type === 'error')
    client.send({ type: 'sync-step1', doc: 'room/normal/2', stateVector: new Uint8Array([0]) })
    expect(await refused).toMatchObject({ code: 'quota/exceeded', doc: 'room/normal/2' })
    // Docs already open still work.
    await client.syncStep1('room/meta', new Y.Doc())
  })

  it('refuses updates with more structs than maxStructs as protocol/malformed', async () => {
    const server = await startServer({ limits: { maxStructs: 5 } })
    const client = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await client.subscribe('room')
    const device = new Device('alice', 'alicedev1')
    const doc = laneDoc('room')
    const update = device.change(doc, (d) => {
      for (let i = 1; i <= 6; i++)
        d.getMap('m').set(`alicedev1.${i}`, {
          author: 'alice',
          device: 'alicedev1',
          stamp: { wall: Date.now(), counter: 0 },
          body: i,
          priority: 'normal',
        })
    })
    expect(await client.update(doc, update)).toMatchObject({ code: 'protocol/malformed' })
  })

  it('stops reading a connection whose uncommitted bytes pile up, and resumes after commits', async () => {
    const server = await startServer({ limits: { maxPendingBytes: 4096 } })
    const client = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await client.subscribe('room')
    const device = new Device('alice', 'alicedev1')
    expect(await client.update('room/meta', device.register('room'))).toBe('ack')
    const doc = laneDoc('room')
    const answers = []
    for (let i = 0; i < 40; i++) answers.push(client.update(doc, device.message(doc, 'x'.repeat(500)).update))
    expect(await Promise.all(answers)).toEqual(answers.map(() => 'ack'))
  })
})
