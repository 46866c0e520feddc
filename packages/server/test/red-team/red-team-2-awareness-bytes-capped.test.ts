// Red team 2 (exhaustion): awareness states are held by the server for later joiners and relayed to
// every subscriber. One member publishes big states under many ids on several connections.
// Defence: a byte cap per state (maxAwarenessStateBytes) and per connection (maxAwarenessBytes),
// refused with quota/exceeded and counted as refusals.
import { expect, it } from 'vitest'
import { DEFAULT_LIMITS } from '../../src/index.js'
import { BOUNDS, duringAttack, startServerProcess } from '../exhaustion-helpers.js'
import { TestClient } from '../helpers.js'
import { encodeAwareness } from '../y-raw.js'

it('big awareness states from one member: RSS and bystander bounded', async () => {
  const server = await startServerProcess()
  const conns = Number(process.env.RT_CONNS ?? 4)
  const ids = Number(process.env.RT_IDS ?? 64)
  const size = 900_000
  const big = 'x'.repeat(size)
  const results: string[] = []
  const figures = await duringAttack(`awareness ${conns} conns x ${ids} ids x 900 KB`, server, async () => {
    const attackers: TestClient[] = []
    for (let c = 0; c < conns; c++) {
      const a = await TestClient.connect(server.url, 't-mallory', `malldev${c}x`)
      await a.subscribe('room')
      attackers.push(a)
    }
    await Promise.all(
      attackers.map(async (a, c) => {
        for (let i = 0; i < ids; i++) {
          a.send({
            type: 'awareness',
            conversation: 'room',
            update: encodeAwareness([{ client: 1_000_000 + c * 1000 + i, clock: 1, state: { big } }]),
          })
          if (i % 8 === 7) {
            const r = await Promise.race([
              a.ping().then(() => 'ok'),
              a.closed.then((c) => `closed ${c.code}`),
            ])
            if (r !== 'ok') break
          }
        }
        const r = await Promise.race([
          a.ping().then(() => 'open'),
          a.closed.then((c) => `closed ${c.code}`),
          new Promise((res) => setTimeout(() => res('timeout'), 5000)),
        ])
        results.push(
          `${r} ${
            a
              .errors()
              .map((e) => e.code)
              .join(',') || 'no errors'
          }`,
        )
        console.log(`conn ${c}: ${r}, server RSS ${server.rss().toFixed(0)} MiB`)
      }),
    )
    // A later joiner receives every state the server holds.
    const joiner = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    const start = joiner.frames.length
    await joiner.subscribe('room')
    await new Promise((r) => setTimeout(r, 1500))
    const bytes = joiner.frames
      .slice(start)
      .filter((f) => f.type === 'awareness')
      .reduce((n, f) => n + (f as { update: Uint8Array }).update.length, 0)
    console.log(`joiner received ${(bytes / 1e6).toFixed(1)} MB of awareness; errors: ${results.join(' | ')}`)
  })
  console.log(`p99 ${figures.p99.toFixed(1)} ms, RSS peak ${figures.rssPeak.toFixed(0)} MiB`)
  expect(figures.rssPeak).toBeLessThan(BOUNDS.rssMiB)
  expect(figures.p99).toBeLessThan(BOUNDS.p99Ms)
}, 60_000)

it('states under the per-state cap still stop at the per-connection byte cap', async () => {
  const server = await startServerProcess()
  const a = await TestClient.connect(server.url, 't-mallory', 'malldev9x')
  await a.subscribe('room')
  const state = { big: 'y'.repeat(15_000) }
  for (let i = 0; i < 32; i++) {
    a.send({
      type: 'awareness',
      conversation: 'room',
      update: encodeAwareness([{ client: 5000 + i, clock: 1, state }]),
    })
  }
  await a.ping()
  const joiner = await TestClient.connect(server.url, 't-bob', 'bobdev02')
  const start = joiner.frames.length
  await joiner.subscribe('room')
  await joiner.ping()
  const held = joiner.frames
    .slice(start)
    .filter((f) => f.type === 'awareness')
    .reduce((n, f) => n + (f as { update: Uint8Array }).update.length, 0)
  const refused = a.errors().filter((e) => e.code === 'quota/exceeded')
  console.log(
    `32 states x 15 KB: ${refused.length} refused (${refused[0]?.reason}); joiner got ${held} bytes`,
  )
  expect(refused.length).toBeGreaterThan(0)
  // The cap plus each state's server-stamped user field.
  expect(held).toBeLessThanOrEqual(DEFAULT_LIMITS.maxAwarenessBytes + 32 * 64)
}, 30_000)
