// Red team 2: deeply nested JSON values (near the frame cap) in a message body, a receipt, a plain
// /y/ doc (deep presence states: see the findings, they close with 1011). The server must refuse or store them without dying or stalling.
import { existsSync } from 'node:fs'
import * as encoding from 'lib0/encoding'
import { expect, it } from 'vitest'
import { BOUNDS, duringAttack, startServerProcess } from '../exhaustion-helpers.js'
import { Device, laneDoc, TestClient } from '../helpers.js'
import { RawY } from '../y-raw.js'

/** One ContentAny item on root map `m` key `key`, under `client`, whose value is `prefix` + an array nested `depth` deep. */
const deepItem = (
  client: number,
  map: string,
  key: string,
  depth: number,
  record?: Record<string, unknown>,
) => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, 0)
  encoding.writeUint8(e, 8 | 0x20)
  encoding.writeVarUint(e, 1)
  encoding.writeVarString(e, map)
  encoding.writeVarString(e, key)
  encoding.writeVarUint(e, 1)
  if (record) {
    // an object: every field of record, then `body` nested deep
    encoding.writeUint8(e, 118)
    encoding.writeVarUint(e, Object.keys(record).length + 1)
    for (const [k, v] of Object.entries(record)) {
      encoding.writeVarString(e, k)
      encoding.writeAny(e, v as never)
    }
    encoding.writeVarString(e, 'body')
  }
  for (let i = 0; i < depth; i++) {
    encoding.writeUint8(e, 117)
    encoding.writeVarUint(e, 1)
  }
  encoding.writeUint8(e, 126)
  encoding.writeVarUint(e, 0)
  return encoding.toUint8Array(e)
}

it('deep JSON values in messages, receipts and plain docs: server survives, stays responsive', async () => {
  const server = await startServerProcess()
  const outcomes: string[] = []
  const figures = await duringAttack('deep JSON values', server, async () => {
    const m = await TestClient.connect(server.url, 't-mallory', 'malldev1')
    await m.subscribe('room')
    const dev = new Device('mallory', 'malldev1')
    expect(await m.update('room/meta', dev.register('room'))).toBe('ack')
    const doc = laneDoc('room')
    let seq = 0
    for (const depth of [100, 1_000, 5_000, 20_000, 100_000, 400_000]) {
      const record = {
        author: 'mallory',
        device: 'malldev1',
        stamp: { wall: Date.now(), counter: 0 },
        priority: 'normal',
      }
      const answer = await Promise.race([
        m.update(doc, deepItem(4242 + seq, 'm', `malldev1.${++seq}`, depth, record)),
        m.closed.then((c) => ({ code: `closed ${c.code}` })),
      ])
      outcomes.push(
        `msg ${depth}: ${answer === 'ack' ? 'ack' : `${answer.code} ${(answer as { reason?: string }).reason ?? ''}`}`,
      )
      if (answer !== 'ack' && answer.code.startsWith('closed')) break
    }
    const r = await TestClient.connect(server.url, 't-rita', 'ritadev1')
    await r.subscribe('room')
    const rdev = new Device('rita', 'ritadev1')
    expect(await r.update('room/meta', rdev.register('room'))).toBe('ack')
    for (const depth of [1_000, 20_000, 400_000]) {
      const answer = await Promise.race([
        r.update(laneDoc('room', 'receipts'), deepItem(5151 + depth, 'r', 'ritadev1', depth)),
        r.closed.then((c) => ({ code: `closed ${c.code}` })),
      ])
      outcomes.push(
        `receipt ${depth}: ${answer === 'ack' ? 'ack' : `${answer.code} ${(answer as { reason?: string }).reason ?? ''}`}`,
      )
      if (answer !== 'ack') break
    }
    // A plain doc: content is the app's, but the server still decodes and stores it.
    for (const depth of [1_000, 20_000, 400_000]) {
      const y = await RawY.open(server.url, `notes-${depth}`, { token: 't-yuri' })
      await y.barrier()
      y.sendUpdate(deepItem(6161 + depth, 'm', 'k', depth))
      const res = await Promise.race([
        y.barrier().then(() => 'handled'),
        y.closed.then((c) => `closed ${c.code}`),
        new Promise((res) => setTimeout(() => res('no answer'), 5000)),
      ])
      // A newcomer syncs the doc.
      const y2 = await RawY.open(server.url, `notes-${depth}`, { token: 't-zed' })
      const step2 = await Promise.race([
        y2.barrier().then((u) => `${u.length} bytes`),
        new Promise((res) => setTimeout(() => res('no answer'), 5000)),
      ])
      outcomes.push(`plain ${depth}: ${res}, newcomer ${step2}`)
    }
  })
  console.log(outcomes.join('\n'))
  console.log(`p99 ${figures.p99.toFixed(1)} ms, RSS peak ${figures.rssPeak.toFixed(0)} MiB`)
  expect(existsSync(`/proc/${server.pid}/status`)).toBe(true)
  expect(figures.bystanderOpen).toBe(true)
  expect(figures.p99).toBeLessThan(BOUNDS.p99Ms)
  expect(figures.rssPeak).toBeLessThan(BOUNDS.rssMiB)
}, 60_000)
