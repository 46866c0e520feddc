import type { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { anyUser } from './any-user.js'
import { BOUNDS, duringAttack, type ServerProcess, startServerProcess } from './exhaustion-helpers.js'
import { Device, laneDoc, startServer, TestClient } from './helpers.js'

/** The raw TCP socket under a client: pausing it makes the client stop reading, as an attacker would. */
const socketOf = (client: TestClient): Socket => (client.ws as unknown as { _socket: Socket })._socket

/** Writes a doc of about 1 MiB (20 messages of 50 KB) and returns its name. */
const seedBigDoc = async (server: { url: string }, conversation: string): Promise<string> => {
  const writer = await TestClient.connect(server.url, 't-seed', 'seeddev1')
  await writer.subscribe(conversation)
  const device = new Device('seed', 'seeddev1')
  expect(await writer.update(`${conversation}/meta`, device.register(conversation))).toBe('ack')
  const doc = laneDoc(conversation)
  for (let i = 0; i < 20; i++) {
    expect(await writer.update(doc, device.message(doc, 'x'.repeat(50_000)).update)).toBe('ack')
  }
  writer.ws.close()
  return doc
}

/** Connects a client that subscribes, then stops reading and asks for `doc` `times` times. */
const nonReader = async (url: string, user: string, conversation: string, doc: string, times: number) => {
  const client = await TestClient.connect(url, `t-${user}`, `${user}dev1`)
  await client.subscribe(conversation)
  socketOf(client).pause()
  for (let i = 0; i < times; i++) client.send({ type: 'sync-step1', doc, stateVector: new Uint8Array([0]) })
  return client
}

/** Resumes reading and resolves with the close, or 'open' if the server kept the connection. */
const closedAfterResume = (client: TestClient, waitMs: number) => {
  socketOf(client).resume()
  return Promise.race([
    client.closed,
    new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), waitMs)),
  ])
}

describe('exhaustion: connections that never read', () => {
  it('20 non-readers asking 60 times for a 1 MiB doc: bounded memory, dropped, bystander responsive', async () => {
    const stallMs = 1_500
    const server: ServerProcess = await startServerProcess({ sendStallMs: stallMs })
    const doc = await seedBigDoc(server, 'big')
    const attackers: TestClient[] = []
    const figures = await duringAttack('8: 20 non-readers x 60 x 1 MiB doc', server, async () => {
      for (let i = 0; i < 20; i++) attackers.push(await nonReader(server.url, `m${i}`, 'big', doc, 60))
      // The attack is holding the connections unread: for longer than the server's stall limit.
      await new Promise((resolve) => setTimeout(resolve, stallMs * 2))
    })
    const outcomes = await Promise.all(attackers.map((a) => closedAfterResume(a, 3_000)))
    expect(outcomes.filter((o) => o === 'open')).toHaveLength(0)
    expect(figures.p99).toBeLessThan(BOUNDS.p99Ms)
    expect(figures.rssPeak).toBeLessThan(BOUNDS.rssMiB)
  })

  it('closes non-readers once all queues together pass maxTotalQueuedBytes, before any stall limit', async () => {
    const server = await startServer({
      authenticate: anyUser,
      limits: { maxTotalQueuedBytes: 2 * 1024 * 1024, sendStallMs: 60_000 },
    })
    const doc = await seedBigDoc(server, 'big')
    const attackers: TestClient[] = []
    for (let i = 0; i < 6; i++) attackers.push(await nonReader(server.url, `m${i}`, 'big', doc, 4))
    // Every request answered or waiting: a ping behind them on each connection cannot be read, so
    // give the server a moment to encode what it will.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const outcomes = await Promise.all(attackers.map((a) => closedAfterResume(a, 3_000)))
    expect(outcomes.some((o) => o !== 'open' && o.code === 1013)).toBe(true)
  })

  it('refuses a connection past maxConnectionsPerUser with quota/exceeded and 4429', async () => {
    const server = await startServer({ limits: { maxConnectionsPerUser: 3 } })
    const clients = []
    for (let i = 0; i < 3; i++) clients.push(await TestClient.connect(server.url, 't-mallory', 'mallorydev1'))
    const extra = await TestClient.open(server.url)
    extra.send({ type: 'auth', token: 't-mallory', device: 'mallorydev1' })
    expect(await extra.next((f) => f.type === 'error')).toMatchObject({ code: 'quota/exceeded' })
    expect(await extra.closed).toMatchObject({ code: 4429 })
    // Another user is not affected, and a freed slot can be used again.
    await TestClient.connect(server.url, 't-bob', 'bobdev1')
    clients[0]!.ws.close()
    await clients[0]!.closed
    await clients[1]!.ping()
    await TestClient.connect(server.url, 't-mallory', 'mallorydev1')
  })
})
