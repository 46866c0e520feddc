// Red team 2 (exhaustion): never-reading subscribers across many users (each user at its own
// connection cap) while a writer produces big forwarded messages: each accepted message is queued
// for every non-reader. Before forwarded frames were encoded once and shared, 8 users' 128
// non-readers took the server to 468 MiB and a bystander's p99 to 630 ms (one member: 350 MiB).
// RT_USERS (default 4; 8 measured p99 127-207 ms, 200-212 MiB) and RT_SAME=1 vary the attack.
import type { Socket } from 'node:net'
import { expect, it } from 'vitest'
import { BOUNDS, duringAttack, startServerProcess } from '../exhaustion-helpers.js'
import { Device, laneDoc, TestClient } from '../helpers.js'

const socketOf = (client: TestClient): Socket => (client.ws as unknown as { _socket: Socket })._socket

const USERS = Number(process.env.RT_USERS ?? 4)
/** The writer is the same member as the non-readers (user lurk0, its 16th connection). */
const SAME = process.env.RT_SAME === '1'
it(`${USERS} users x 16 non-reading subscribers, a writer sending 40 x 900 KB: bounded, non-readers dropped`, async () => {
  const server = await startServerProcess({ sendStallMs: 4_000 })
  const readers: TestClient[] = []
  let acks = 0
  const figures = await duringAttack(`${USERS * 16} non-readers + 900 KB writer`, server, async () => {
    for (let u = 0; u < USERS; u++) {
      for (let c = 0; c < (SAME ? 15 : 16); c++) {
        const r = await TestClient.connect(server.url, `t-lurk${u}`, `lurk${u}d${c}`)
        await r.subscribe('room')
        socketOf(r).pause()
        readers.push(r)
      }
    }
    const w = await TestClient.connect(server.url, SAME ? 't-lurk0' : 't-writer', 'writerdev1')
    await w.subscribe('room')
    const dev = new Device(SAME ? 'lurk0' : 'writer', 'writerdev1')
    expect(await w.update('room/meta', dev.register('room'))).toBe('ack')
    const doc = laneDoc('room')
    for (let i = 0; i < 40; i++) {
      if ((await w.update(doc, dev.message(doc, `${i}`.padEnd(900_000, 'w')).update)) === 'ack') acks++
    }
    await new Promise((r) => setTimeout(r, 6_000))
  })
  const stillOpen = await Promise.all(
    readers.map((r) => {
      socketOf(r).resume()
      return Promise.race([
        r.closed.then(() => false),
        new Promise<boolean>((res) => setTimeout(() => res(true), 2_000)),
      ])
    }),
  )
  console.log(
    `writer acks ${acks}/40; non-readers still open ${stillOpen.filter(Boolean).length}/${readers.length}; p99 ${figures.p99.toFixed(1)} ms, RSS ${figures.rssBefore.toFixed(0)} -> ${figures.rssPeak.toFixed(0)} MiB`,
  )
  expect(figures.p99).toBeLessThan(BOUNDS.p99Ms)
  expect(figures.rssPeak).toBeLessThan(BOUNDS.rssMiB)
}, 60_000)
