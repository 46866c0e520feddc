import { join } from 'node:path'
import type { Conversation, MessageId, Priority } from '@tidings/core'
import { assertConverged, type FaultyProxy } from '@tidings/testing'
import { describe, expect, it } from 'vitest'
import { body, type Device, device, proxyTo, startServer, tempDir, waitFor } from '../e2e/helpers.js'
import { row } from './report.js'

const PRIORITIES: readonly Priority[] = ['urgent', 'high', 'normal', 'low']
/** Each direction of each connection: the backlog takes seconds to cross, so a fault lands mid-way. */
const BYTES_PER_SECOND = 48_000
const LATENCY_MS: [number, number] = [5, 25]
const PING_INTERVAL = 250
/** Data counts as a sign of life, so a slow link that still moves never trips it. */
const PING_TIMEOUT = 1500
/** Acks to wait for before the fault: enough that the upload is under way, far from done. */
const ACKS_BEFORE_FAULT = 30

interface Writer {
  readonly name: string
  readonly device: Device
  readonly convo: Conversation
  /** Messages it writes offline. */
  readonly backlog: number
  /** Ids whose `send()` resolved: each must end up on every replica. */
  readonly sent: MessageId[]
}

/**
 * Writes `count` messages offline over every priority, with replies, edits, deletes and a
 * `markRead` at the end: the kind of backlog a phone builds on a train.
 */
const writeBacklog = async (w: Writer) => {
  for (let i = 0; i < w.backlog; i++) {
    const replyTo = i % 7 === 6 ? w.sent[i - 1] : undefined
    const m = await w.convo.send(body(`${w.name} ${i}`), {
      priority: PRIORITIES[i % PRIORITIES.length]!,
      ...(replyTo ? { replyTo } : {}),
    })
    w.sent.push(m.id)
    if (i % 10 === 9) await w.convo.edit(w.sent[i - 3]!, body(`${w.name} ${i - 3}, edited`))
    if (i % 25 === 24) await w.convo.delete(w.sent[i - 5]!)
  }
  await w.convo.markRead(w.sent.at(-1)!)
}

/** Own messages the server acknowledged so far, over every writer. */
const acks = (writers: readonly Writer[]) =>
  writers.reduce((n, w) => n + w.sent.length - w.convo.pending().length, 0)

/** Retries `assertion` until it passes; past `timeout`, its last error (with its diff) is the failure. */
const eventually = async (assertion: () => Promise<void>, timeout = 15_000) => {
  const started = performance.now()
  for (;;) {
    try {
      return await assertion()
    } catch (error) {
      if (performance.now() - started > timeout) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

const connected = (d: Device) => d.client.connection === 'syncing' || d.client.connection === 'online'

/** Resolves once every device lost its connection and is dialing again (or gave up). */
const allNoticed = (devices: readonly Device[], what: string) =>
  waitFor(() => !devices.some(connected), what, {
    watch: devices.map((d) => d.client),
    timeout: PING_TIMEOUT + 5000,
  })

/**
 * Three devices (alice on a laptop with SQLite and on a phone, bob) behind one faulty proxy in
 * front of a real server. They sync, go offline, each write a backlog, come back on a throttled
 * link, and `fault` strikes once some acks came back but not all; then the link is restored.
 */
const scenario = async (fault: (proxy: FaultyProxy, devices: readonly Device[]) => Promise<string>) => {
  const server = await startServer()
  const proxy = await proxyTo(server, { bytesPerSecond: BYTES_PER_SECOND, latencyMs: LATENCY_MS })
  const heartbeat = { pingInterval: PING_INTERVAL, pingTimeout: PING_TIMEOUT }
  const setups = [
    {
      name: 'laptop',
      backlog: 120,
      device: device(proxy.url, 'alice', { ...heartbeat, path: join(tempDir(), 'laptop.db') }),
    },
    { name: 'phone', backlog: 80, device: device(proxy.url, 'alice', heartbeat) },
    { name: 'bob', backlog: 120, device: device(proxy.url, 'bob', heartbeat) },
  ]
  const writers: Writer[] = []
  for (const s of setups) writers.push({ ...s, convo: await s.device.client.open('room'), sent: [] })
  // Online once first, so every device is registered to its user before it writes.
  await Promise.all(writers.map((w) => w.device.client.whenSynced()))

  for (const w of writers) w.device.offline()
  for (const w of writers) await writeBacklog(w)
  const total = writers.reduce((n, w) => n + w.sent.length, 0)
  const convos = writers.map((w) => w.convo)

  for (const w of writers) w.device.online()
  await waitFor(
    () => acks(writers) >= ACKS_BEFORE_FAULT && writers.every((w) => connected(w.device)),
    `${ACKS_BEFORE_FAULT} acks, every device connected`,
    { watch: convos },
  )
  const before = acks(writers)
  const faultAt = performance.now()
  const detail = await fault(
    proxy,
    writers.map((w) => w.device),
  )
  // The fault struck mid-backlog: some acks in, most not.
  expect(before).toBeLessThan(total)

  await waitFor(() => acks(writers) === total, 'every message acknowledged', {
    watch: convos,
    timeout: 30_000,
  })
  await Promise.all(writers.map((w) => w.device.client.whenSynced()))
  const ackedAt = performance.now()
  const replicas = writers.map((w) => ({ client: w.device.client, name: w.name }))
  await eventually(() => assertConverged(replicas, 'room'))

  // assertConverged paged in the whole history: every acknowledged write must be on every replica.
  const shown = convos.map((c) => new Set(c.messages().map((m) => m.id)))
  const lost = writers.flatMap((w) => w.sent).filter((id) => shown.some((ids) => !ids.has(id)))
  expect(server.errors).toEqual([])
  // The link failures the fault causes are reported (once each per link); nothing else may be.
  const errors = writers.flatMap((w) => w.device.errors).filter((code) => !code.startsWith('network/'))
  expect(errors).toEqual([])
  const recoveredMs = Math.round(ackedAt - faultAt)
  return {
    total,
    before,
    lost: lost.length,
    detail: `${detail}; all acked ${recoveredMs} ms after the fault`,
  }
}

describe('fault matrix: a real server through faultyProxy', () => {
  it('cut and restored mid-backlog: converged, acknowledged lost 0', async () => {
    const run = await scenario(async (proxy, devices) => {
      proxy.cut()
      await allNoticed(devices, 'every device dropped')
      // Every device tried again and was refused while the link was down.
      await waitFor(() => proxy.refused >= devices.length, 'a refused attempt per device')
      const refused = proxy.refused
      proxy.restore()
      return `${refused} attempts refused while cut`
    })
    row(
      'real server through faultyProxy, cut and restored mid-backlog',
      `converged 3/3 replicas; acknowledged lost ${run.lost} of ${run.total}; cut after ${run.before} acks; ${run.detail}`,
    )
    expect(run.lost).toBe(0)
  })

  it('stalled mid-backlog until the heartbeat notices, then restored: converged, acknowledged lost 0', async () => {
    const run = await scenario(async (proxy, devices) => {
      const stalledAt = performance.now()
      proxy.stall()
      await allNoticed(devices, 'every heartbeat to notice the silent link')
      const noticedMs = performance.now() - stalledAt
      // Nothing closed: only the heartbeat can tell, and it cannot before a timeout's worth of
      // silence (the last pong may have come up to one ping interval before the stall).
      expect(noticedMs).toBeGreaterThan(PING_TIMEOUT - PING_INTERVAL - 100)
      proxy.restore()
      return `stall noticed by every heartbeat in ${Math.round(noticedMs)} ms (pingTimeout ${PING_TIMEOUT})`
    })
    row(
      'real server through faultyProxy, stalled and restored mid-backlog',
      `converged 3/3 replicas; acknowledged lost ${run.lost} of ${run.total}; stalled after ${run.before} acks; ${run.detail}`,
    )
    expect(run.lost).toBe(0)
  })
})
