// Red team 2 (exhaustion): one user opens many /y/ connections, each to its own plain doc, and
// writes a 200 KB update into each (docs stay in memory for docIdleMs).
// Defence: /y/ connections count in maxConnectionsPerUser with Tidings ones; past it they close 4429.
import * as encoding from 'lib0/encoding'
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { DEFAULT_LIMITS } from '../../src/index.js'
import { BOUNDS, duringAttack, startServerProcess } from '../exhaustion-helpers.js'
import { RawY } from '../y-raw.js'

const N = Number(process.env.RT_N ?? 400)

it(`one user, ${N} /y/ connections to distinct plain docs with 200 KB each: bounded`, async () => {
  const server = await startServerProcess()
  const opened: RawY[] = []
  const closes = new Map<number, number>()
  let refusedAtOpen = 0
  const figures = await duringAttack(`${N} /y/ conns of one user`, server, async () => {
    const deadline = Date.now() + 15_000
    for (let i = 0; i < N && Date.now() < deadline; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, N - i) }, async (_, k) => {
          try {
            const y = await RawY.open(server.url, `plain-${i + k}`, { token: 't-mallory' })
            void y.closed.then((c) => closes.set(c.code, (closes.get(c.code) ?? 0) + 1))
            opened.push(y)
            const d = new Y.Doc()
            d.getText('t').insert(0, 'p'.repeat(200_000))
            y.sendUpdate(Y.encodeStateAsUpdate(d))
          } catch {
            refusedAtOpen++
          }
        }),
      )
    }
    await new Promise((r) => setTimeout(r, 1_000))
  })
  const open = opened.filter((y) => y.ws.readyState === y.ws.OPEN).length
  console.log(
    `opened ${opened.length}, refused at upgrade ${refusedAtOpen}, open at end ${open}, closes ${JSON.stringify([...closes])}; p99 ${figures.p99.toFixed(1)} ms, RSS ${figures.rssBefore.toFixed(0)} -> ${figures.rssPeak.toFixed(0)} MiB`,
  )
  void encoding
  expect(open).toBeLessThanOrEqual(DEFAULT_LIMITS.maxConnectionsPerUser)
  expect(figures.p99).toBeLessThan(BOUNDS.p99Ms)
  expect(figures.rssPeak).toBeLessThan(BOUNDS.rssMiB)
}, 60_000)
