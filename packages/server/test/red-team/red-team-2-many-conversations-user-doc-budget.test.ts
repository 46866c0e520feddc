// Red team 2 (exhaustion): one member spreads late messages into past periods over as many
// conversations as it may subscribe to, on every connection it may open: each conversation's
// new-doc budget is its own, so one member creates maxSubscriptions x newDocsPerMinute docs at once.
// Defence: userNewDocsPerMinute, one budget per member over all conversations.
import { expect, it } from 'vitest'
import { DEFAULT_LIMITS } from '../../src/index.js'
import { BOUNDS, duringAttack, startServerProcess } from '../exhaustion-helpers.js'
import { Device, TestClient } from '../helpers.js'

const WEEK = 7 * 24 * 60 * 60 * 1000

it('one member, 16 connections x 16 conversations x 120 past-period docs: bounded', async () => {
  const server = await startServerProcess()
  const CONNS = 16
  const CONVS = 16
  const DOCS = 120
  let acks = 0
  let refused = 0
  const closes: number[] = []
  const started = Date.now()
  const deadline = started + 30_000
  const figures = await duringAttack('16 conns x 16 convs x 120 past docs', server, async () => {
    await Promise.all(
      Array.from({ length: CONNS }, async (_, c) => {
        const dev = new Device('mallory', `malldev${c}x`)
        const m = await TestClient.connect(server.url, 't-mallory', dev.id)
        let open = true
        void m.closed.then((x) => {
          open = false
          closes.push(x.code)
        })
        for (let v = 0; v < CONVS && open; v++) {
          const conv = `c${c}-${v}`
          await m.subscribe(conv)
          await m.update(`${conv}/meta`, dev.register(conv))
          const pending: Promise<unknown>[] = []
          for (let p = 1; p <= DOCS && open && Date.now() < deadline; p++) {
            const wall = Date.now() - p * WEEK
            const doc = `${conv}/low/${Math.floor(wall / WEEK)}`
            const { update } = dev.message(doc, 'late', { stamp: { wall, counter: 0 } })
            pending.push(
              m.update(doc, update).then((a) => {
                if (a === 'ack') acks++
                else refused++
              }),
            )
            if (pending.length >= 32) await Promise.race([Promise.all(pending.splice(0)), m.closed])
          }
          await Promise.race([Promise.all(pending), m.closed])
        }
      }),
    )
  })
  console.log(
    `docs acked ${acks}, refused ${refused}, closes ${closes.join(',')}; p99 ${figures.p99.toFixed(1)} ms, RSS ${figures.rssBefore.toFixed(0)} -> ${figures.rssPeak.toFixed(0)} MiB`,
  )
  // Acks include one meta registration per conversation; period docs fit the budget and its refill.
  const perMinute = DEFAULT_LIMITS.userNewDocsPerMinute
  const budget = perMinute + (perMinute / 60) * ((Date.now() - started) / 1000) + CONNS * CONVS
  console.log(`per-user budget over the run: ${budget.toFixed(0)}`)
  expect(acks).toBeLessThanOrEqual(budget)
  expect(figures.p99).toBeLessThan(BOUNDS.p99Ms)
  expect(figures.rssPeak).toBeLessThan(BOUNDS.rssMiB)
}, 60_000)
