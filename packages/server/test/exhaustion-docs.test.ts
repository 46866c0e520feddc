import { DEFAULT_PERIOD_MS } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import { anyUser } from './any-user.js'
import { BOUNDS, duringAttack, startServerProcess } from './exhaustion-helpers.js'
import { Device, startServer, TestClient } from './helpers.js'

const LANES = ['urgent', 'high', 'normal', 'low'] as const

/** Resolves with the client's close, or 'open' once `ms` passed without one. */
const closedWithin = (client: TestClient, ms: number) =>
  Promise.race([client.closed, new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), ms))])

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
    const meta = device.change('tiny/meta', (d) => {
      d.getMap('devices').set('mallorydev1', 'mallory')
      d.getMap('settings').set('periodMs', 1_000)
    })
    expect(await mallory.update('tiny/meta', meta)).toBe('ack')
    const answers = []
    // Inside the drift allowance, every second is a period of its own.
    const now = Date.now()
    for (let s = 5; s < 45; s += 5) {
      const wall = now + s * 1_000
      const doc = `tiny/normal/${Math.floor(wall / 1_000)}`
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
    const doc = `tiny/normal/${Math.floor(wall / 1_000)}`
    expect(
      await bob.update(doc, bobDevice.message(doc, 'ahead', { stamp: { wall, counter: 0 } }).update),
    ).toBe('ack')
  })
})
