// Red team 2 (exhaustion): presence states of JSON nested 400,000 deep (one ~800 KB frame each),
// sent by one member reconnecting after each close: every frame costs the server a deep parse and
// closes the connection with 1011 (an internal error), not a counted refusal.
// Defence: a state deeper than isJson allows is refused as protocol/malformed (one too big first,
// as quota/exceeded, before it is parsed), counted as a refusal; stack overflows become refusals.
import * as encoding from 'lib0/encoding'
import { expect, it } from 'vitest'
import { BOUNDS, duringAttack, startServerProcess } from '../exhaustion-helpers.js'
import { TestClient } from '../helpers.js'

it('deep presence states from a reconnecting member: bystander responsive', async () => {
  const server = await startServerProcess()
  const deep = (depth: number) => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint(e, 777)
    encoding.writeVarUint(e, 1)
    encoding.writeVarString(e, `{"x":${'['.repeat(depth)}${']'.repeat(depth)}}`)
    return encoding.toUint8Array(e)
  }
  // 400,000 deep (800 KB) as the red team sent, and 7,000 deep: small enough for any state cap.
  const updates = [deep(400_000), deep(7_000)]
  const codes: number[] = []
  const refusals = new Set<string>()
  const figures = await duringAttack('deep presence, reconnecting', server, async () => {
    const end = Date.now() + 5_000
    await Promise.all(
      Array.from({ length: 4 }, async (_, c) => {
        while (Date.now() < end) {
          const a = await TestClient.connect(server.url, 't-mallory', `malldev${c}x`)
          a.send({ type: 'subscribe', conversation: 'room', version: 0 })
          a.send({ type: 'awareness', conversation: 'room', update: updates[codes.length % 2]! })
          const r = await Promise.race([a.closed, a.ping().then(() => 'open' as const)])
          codes.push(r === 'open' ? 0 : r.code)
          for (const error of a.errors()) refusals.add(error.code)
          a.ws.terminate()
        }
      }),
    )
  })
  console.log(`refusals ${[...refusals].join(', ')}`)
  console.log(
    `frames ${codes.length}, closes ${JSON.stringify(codes.slice(0, 20))}; p99 ${figures.p99.toFixed(1)} ms, max ${figures.max.toFixed(1)} ms, RSS peak ${figures.rssPeak.toFixed(0)} MiB`,
  )
  expect(codes.filter((c) => c === 1011)).toHaveLength(0)
  expect(refusals).toContain('protocol/malformed')
  expect(figures.p99).toBeLessThan(BOUNDS.p99Ms)
  expect(figures.rssPeak).toBeLessThan(BOUNDS.rssMiB)
}, 60_000)
