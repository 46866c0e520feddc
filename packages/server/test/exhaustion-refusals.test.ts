import { describe, expect, it } from 'vitest'
import { BOUNDS, duringAttack, startServerProcess } from './exhaustion-helpers.js'
import { Device, laneDoc, TestClient } from './helpers.js'
import { gcStructs, itemChain } from './raw-updates.js'

/** Resolves with the attacker's close, or 'open' once `ms` passed without one. */
const closedWithin = (client: TestClient, ms: number) =>
  Promise.race([client.closed, new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), ms))])

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
    // The quadratic placement scanned the chain once per item: about 5 times the cost per item here.
    expect(long / short).toBeLessThan(3)
    expect(figures.bystanderOpen).toBe(true)
  })
})
