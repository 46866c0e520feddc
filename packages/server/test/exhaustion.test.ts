import type { Socket } from 'node:net'
import { DEFAULT_PERIOD_MS } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import { anyUser } from './any-user.js'
import {
  BOUNDS,
  closedWithin,
  duringAttack,
  type ServerProcess,
  startServerProcess,
} from './exhaustion-helpers.js'
import { Device, laneDoc, startServer, TestClient } from './helpers.js'
import { gcStructs, itemChain } from './raw-updates.js'

/**
 * Issue 7, items 8 to 10: each attack through real sockets against a server in its own process,
 * with a bystander's ping round trips and the server's RSS printed as one table row per attack.
 * One file, so the attacks run one after another and do not measure each other.
 */

const LANES = ['urgent', 'high', 'normal', 'low'] as const

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
  return closedWithin(client, waitMs)
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

describe('exhaustion: refusal floods', () => {
  it('1 MiB frames of 520,000 GC structs are refused after the cap, and the sender is closed', async () => {
    const server = await startServerProcess()
    const flood = gcStructs([7], 520_000)
    expect(flood.length).toBeGreaterThan(1_000_000)
    let outcome: Awaited<ReturnType<typeof closedWithin>> = 'open'
    let errors = 0
    const figures = await duringAttack('9: 40 frames of 520,000 GC structs', server, async () => {
      const attacker = await TestClient.connect(server.url, 't-mallory', 'mallorydev1')
      await attacker.subscribe('room')
      for (let i = 0; i < 40; i++)
        attacker.send({ type: 'update', doc: laneDoc('room'), ref: i + 1, update: flood })
      outcome = await closedWithin(attacker, 10_000)
      errors = attacker.errors().length
    })
    // Refused as malformed after a few structs; a refusal of 1 MiB spends the refusal budget at once.
    expect(outcome).toMatchObject({ code: 4429 })
    expect(errors).toBeLessThanOrEqual(2)
    expect(figures.p99).toBeLessThan(BOUNDS.p99Ms)
    expect(figures.rssPeak).toBeLessThan(BOUNDS.rssMiB)
  })

  it('50 KB chains of 10,000 structs refused at the last: linear checks, counted refusals, 4429', async () => {
    const server = await startServerProcess()
    const doc = laneDoc('room')
    const chain = itemChain(7, 10_000, 'mallorydev1.1', 'not a message')
    expect(chain.length).toBeLessThan(64 * 1024)
    let outcome: Awaited<ReturnType<typeof closedWithin>> = 'open'
    let refusals: string[] = []
    // A server that has been running: legitimate traffic has warmed the decoder and the checks.
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await alice.subscribe('room')
    const aliceDevice = new Device('alice', 'alicedev1')
    expect(await alice.update('room/meta', aliceDevice.register('room'))).toBe('ack')
    for (let i = 0; i < 200; i++) await alice.update(doc, aliceDevice.message(doc, `warm-up ${i}`).update)
    const figures = await duringAttack('9: 300 frames of a 10,000-item chain', server, async () => {
      const attacker = await TestClient.connect(server.url, 't-mallory', 'mallorydev1')
      await attacker.subscribe('room')
      const device = new Device('mallory', 'mallorydev1')
      expect(await attacker.update('room/meta', device.register('room'))).toBe('ack')
      for (let i = 0; i < 300; i++) attacker.send({ type: 'update', doc, ref: i + 1, update: chain })
      outcome = await closedWithin(attacker, 10_000)
      refusals = attacker.errors().map((e) => `${e.code}: ${e.reason}`)
    })
    // Each was checked to its last item (refused for its content there), and refusals were counted.
    expect(refusals[0]).toMatch(/permission\/denied: a message is a JSON object/)
    expect(outcome).toMatchObject({ code: 4429 })
    // A refusal costs 1, + 1 per 4 KiB, + 1 per 100 structs read: one of these spends the budget.
    expect(refusals.length).toBeLessThanOrEqual(2)
    expect(figures.p99).toBeLessThan(BOUNDS.p99Ms)
    expect(figures.rssPeak).toBeLessThan(BOUNDS.rssMiB)
  })

  it('checks are linear: refusing a chain of 250,000 items costs per item what one of 4,000 does', async () => {
    // Caps raised so that one update can hold the whole chain.
    const server = await startServerProcess({
      refusalBudget: 1_000_000,
      maxStructs: 300_000,
      maxPayload: 4 * 1024 * 1024,
    })
    const doc = laneDoc('room')
    const perItem: number[] = []
    const figures = await duringAttack('9: chains of 4,000 then 250,000 items', server, async () => {
      const attacker = await TestClient.connect(server.url, 't-mallory', 'mallorydev1')
      await attacker.subscribe('room')
      let ref = 0
      // The first batch warms the decoder and the checks up; the next two are compared.
      for (const [length, count] of [
        [4_000, 10],
        [4_000, 10],
        [250_000, 1],
      ] as const) {
        const chain = itemChain(7, length, 'mallorydev1.1', 'not a message')
        const started = performance.now()
        for (let i = 0; i < count; i++) attacker.send({ type: 'update', doc, ref: ++ref, update: chain })
        const last = ref
        await attacker.next((f) => f.type === 'error' && f.ref === last)
        perItem.push(((performance.now() - started) * 1000) / (length * count))
      }
    })
    const [, short, long] = perItem as [number, number, number]
    console.log(
      `| µs per item: chains of 4,000 ${short.toFixed(2)} | a chain of 250,000 ${long.toFixed(2)} |`,
    )
    // The quadratic placement scanned the chain once per item: 17 times the cost per item here.
    // Linear checks measure 1-2, and up to 4 on a machine busy with other work (GC of the big frame).
    expect(long / short).toBeLessThan(8)
    expect(figures.bystanderOpen).toBe(true)
  })
})

describe('exhaustion: subscriptions and docs', () => {
  it('5,000 subscriptions on each of 4 connections: capped at maxSubscriptions, then closed', async () => {
    // A rate limit high enough not to close the attackers first: the subscription cap must.
    const server = await startServerProcess({ framesPerSecond: 20_000 })
    const manifests: number[] = []
    const outcomes: Awaited<ReturnType<typeof closedWithin>>[] = []
    const figures = await duringAttack('10: 4 x 5,000 subscriptions', server, async () => {
      const attackers = await Promise.all(
        [0, 1, 2, 3].map(() => TestClient.connect(server.url, 't-mallory', 'mallorydev1')),
      )
      attackers.forEach((attacker, n) => {
        for (let i = 0; i < 5_000; i++)
          attacker.send({ type: 'subscribe', conversation: `c${n}-${i}`, version: 0 })
      })
      outcomes.push(...(await Promise.all(attackers.map((a) => closedWithin(a, 15_000)))))
      manifests.push(...attackers.map((a) => a.frames.filter((f) => f.type === 'manifest').length))
    })
    for (const count of manifests) expect(count).toBeLessThanOrEqual(256)
    for (const outcome of outcomes) expect(outcome).toMatchObject({ code: 4429 })
    expect(figures.bystanderOpen).toBe(true)
    expect(figures.p99).toBeLessThan(BOUNDS.p99Ms)
    expect(figures.rssPeak).toBeLessThan(BOUNDS.rssMiB)
  })

  it('counts subscriptions per user over all of their connections', async () => {
    const server = await startServer({ authenticate: anyUser, limits: { maxSubscriptions: 3 } })
    const first = await TestClient.connect(server.url, 't-mallory', 'mallorydev1')
    const second = await TestClient.connect(server.url, 't-mallory', 'mallorydev1')
    for (let i = 0; i < 3; i++) await first.subscribe(`c${i}`)
    // The same conversation on another device is no new one; a fourth is.
    await second.subscribe('c0')
    await expect(second.subscribe('c3')).rejects.toThrow(/quota\/exceeded/)
    // Given back when a subscription ends.
    first.send({ type: 'unsubscribe', conversation: 'c1' })
    await first.ping()
    await second.subscribe('c3')
  })

  it('one member opening 3,000 past periods: a message outside its period is refused, new docs are rate-capped', async () => {
    const server = await startServerProcess()
    const current = Math.floor(Date.now() / DEFAULT_PERIOD_MS)
    let answers: (string | { code: string })[] = []
    const figures = await duringAttack('10: 3,000 period docs from one member', server, async () => {
      const mallory = await TestClient.connect(server.url, 't-mallory', 'mallorydev1')
      await mallory.subscribe('flood')
      const device = new Device('mallory', 'mallorydev1')
      expect(await mallory.update('flood/meta', device.register('flood'))).toBe('ack')
      // Today's refusal first: a current stamp does not open period 0.
      const misplaced = device.message('flood/normal/0', 'now, in 1970')
      expect(await mallory.update('flood/normal/0', misplaced.update)).toMatchObject({
        code: 'permission/denied',
      })
      for (let i = 0; i < 3_000 && mallory.ws.readyState === mallory.ws.OPEN; i++) {
        const period = current - 1 - Math.floor(i / LANES.length)
        const doc = `flood/${LANES[i % LANES.length]}/${period}`
        const late = device.message(doc, 'late', {
          stamp: { wall: period * DEFAULT_PERIOD_MS + 1, counter: 0 },
        })
        const answer = await Promise.race([
          mallory.update(doc, late.update),
          mallory.closed.then(() => 'closed'),
        ])
        answers.push(answer as string | { code: string })
      }
    })
    answers = answers.filter((a) => a !== 'closed')
    const acked = answers.filter((a) => a === 'ack').length
    // The budget refills over the minute: a few more pass while the flood lasts.
    expect(acked).toBeLessThanOrEqual(130)
    expect(answers.slice(acked)).toContainEqual(expect.objectContaining({ code: 'quota/exceeded' }))
    // What every later subscriber receives: the manifest lists only what was let through.
    const reader = await TestClient.connect(server.url, 't-reader', 'readerdev1')
    const manifest = await reader.subscribe('flood')
    expect(manifest.changes.length).toBeLessThanOrEqual(131)
    expect(figures.p99).toBeLessThan(BOUNDS.p99Ms)
    expect(figures.rssPeak).toBeLessThan(BOUNDS.rssMiB)
  })

  it('caps the period docs one member creates ahead of now, even with one-second periods', async () => {
    const server = await startServer({ authenticate: anyUser, limits: { maxDocsAhead: 4 } })
    const mallory = await TestClient.connect(server.url, 't-mallory', 'mallorydev1')
    await mallory.subscribe('tiny')
    const device = new Device('mallory', 'mallorydev1')
    expect(await mallory.update('tiny/meta', device.register('tiny'))).toBe('ack')
    const answers = []
    // Inside the drift allowance, every second is a period of its own (the length is in the name).
    const now = Date.now()
    for (let s = 5; s < 45; s += 5) {
      const wall = now + s * 1_000
      const doc = `tiny/normal/${Math.floor(wall / 1_000)}~1000`
      answers.push(
        await mallory.update(doc, device.message(doc, 'ahead', { stamp: { wall, counter: 0 } }).update),
      )
    }
    expect(answers.slice(0, 4)).toEqual(['ack', 'ack', 'ack', 'ack'])
    expect(answers.slice(4)).toEqual(
      answers.slice(4).map(() => expect.objectContaining({ code: 'quota/exceeded' })),
    )
    // Another member's quota is their own.
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev1')
    await bob.subscribe('tiny')
    const bobDevice = new Device('bob', 'bobdev1')
    expect(await bob.update('tiny/meta', bobDevice.register('tiny'))).toBe('ack')
    const wall = Date.now() + 50_000
    const doc = `tiny/normal/${Math.floor(wall / 1_000)}~1000`
    expect(
      await bob.update(doc, bobDevice.message(doc, 'ahead', { stamp: { wall, counter: 0 } }).update),
    ).toBe('ack')
  })
})
