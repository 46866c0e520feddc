import { describe, expect, it } from 'vitest'
import { body, device, ids, proxyTo, startServer, waitFor } from './helpers.js'

/** The sender's link: 32 kB/s (256 kbit/s) each way, through a faulty proxy. */
const LINK_BYTES_PER_SECOND = 32_000

interface Run {
  readonly backlog: number
  /** From reconnect until the receiver shows the urgent message. */
  readonly urgentMs: number
  /** From reconnect until the receiver shows every normal message. */
  readonly backlogMs: number
  /** Normal messages the receiver showed no later than the urgent one. */
  readonly normalsFirst: number
  /** Bytes the proxy carried from the sender to the server after the reconnect. */
  readonly bytesUp: number
  /** Time the sender took to write the backlog offline. */
  readonly writeMs: number
  /** A second urgent message written once a quarter of the backlog arrived: its delay, and the normals still to come. */
  readonly midDrain?: { readonly ms: number; readonly behind: number }
}

/**
 * A sender goes offline, writes `backlog` normal messages and then one urgent one (bodies ~100 B),
 * and reconnects through the throttled proxy; a receiver connected straight to the server watches.
 */
const scenario = async (backlog: number): Promise<Run> => {
  const server = await startServer()
  const proxy = await proxyTo(server, { bytesPerSecond: LINK_BYTES_PER_SECOND })
  // Default receipt delay (1.5 s), as an app would have it.
  const sender = device(proxy.url, 'alice', { receiptDelay: 1500 })
  const receiver = device(server.url, 'bob', { receiptDelay: 1500 })
  const s = await sender.client.open('ops-room')
  const r = await receiver.client.open('ops-room')
  await Promise.all([sender.client.whenSynced(), receiver.client.whenSynced()])

  sender.offline()
  const writing = performance.now()
  const normals = new Set<string>()
  for (let i = 0; i < backlog; i++) normals.add((await s.send(body(`normal ${i}`))).id)
  const urgent = await s.send(body('URGENT: confirm the contract'), { priority: 'urgent' })
  const writeMs = performance.now() - writing
  expect(s.pending()[0]?.id).toBe(urgent.id)

  const countNormals = () => {
    let n = 0
    for (const m of r.messages()) if (normals.has(m.id)) n++
    return n
  }
  // Checked at every change until the urgent message shows: any normal one before it is seen.
  let urgentAt: number | undefined
  let normalsFirst = 0
  const stop = r.subscribe(() => {
    if (urgentAt !== undefined) return
    normalsFirst = countNormals()
    if (r.messages().some((m) => m.id === urgent.id)) urgentAt = performance.now()
  })
  const bytesBefore = proxy.bytes.up
  const start = performance.now()
  sender.online()
  await waitFor(() => urgentAt !== undefined, 'the urgent message at the receiver', { timeout: 10_000 })
  stop()
  // The backlog check reads the whole list: every 50 ms is enough for a figure of seconds.
  const arrived = (n: number) =>
    waitFor(() => countNormals() >= n, `${n} normal messages at the receiver`, {
      timeout: 60_000,
      interval: 50,
    })
  let midDrain: Run['midDrain']
  if (backlog >= 1000) {
    // Written while the backlog streams: it must not wait behind what sits in sockets and buffers.
    await arrived(backlog / 4)
    const written = performance.now()
    const late = await s.send(body('URGENT: and another thing'), { priority: 'urgent' })
    await waitFor(() => r.messages().some((m) => m.id === late.id), 'the second urgent message', {
      watch: [r],
      timeout: 10_000,
    })
    midDrain = { ms: performance.now() - written, behind: backlog - countNormals() }
  }
  await arrived(backlog)
  const backlogMs = performance.now() - start
  await sender.client.whenSynced()
  expect(ids(r)).toEqual(ids(s))
  expect(server.errors).toEqual([])
  const run = {
    backlog,
    urgentMs: urgentAt! - start,
    backlogMs,
    normalsFirst,
    bytesUp: proxy.bytes.up - bytesBefore,
    writeMs,
    ...(midDrain ? { midDrain } : {}),
  }
  await Promise.all([sender.close(), receiver.close()])
  await proxy.close()
  await server.close()
  return run
}

const round = (ms: number) => Math.round(ms)

describe('urgent first through a throttled link', () => {
  it('an urgent message overtakes a backlog of 2,000 normal ones; its delay does not grow with it', async () => {
    // A first run warms up the JIT and the module caches; its figures are not compared.
    await scenario(0)
    const runs: Run[] = []
    for (const backlog of [0, 200, 2000]) runs.push(await scenario(backlog))

    console.log(
      `urgent message through a ${(LINK_BYTES_PER_SECOND * 8) / 1000} kbit/s proxy (bodies ~100 B)\n` +
        'backlog | urgent delay ms | all normals ms | bytes up | kbit/s achieved | offline write ms\n' +
        runs
          .map((r) =>
            [
              String(r.backlog).padStart(7),
              String(round(r.urgentMs)).padStart(15),
              String(round(r.backlogMs)).padStart(14),
              String(r.bytesUp).padStart(8),
              String(round((r.bytesUp * 8) / r.backlogMs)).padStart(15),
              String(round(r.writeMs)).padStart(16),
            ].join(' | '),
          )
          .join('\n') +
        runs
          .filter((r) => r.midDrain)
          .map(
            (r) =>
              `\nurgent written mid-drain (backlog ${r.backlog}): ${round(r.midDrain!.ms)} ms, ` +
              `${r.midDrain!.behind} normal messages still behind it`,
          )
          .join(''),
    )

    for (const run of runs) expect(run.normalsFirst, `normals before urgent, backlog ${run.backlog}`).toBe(0)
    const [none, , full] = runs as [Run, Run, Run]
    // Independent of the backlog: within a small multiple of the empty case, and a sliver of the
    // time the backlog itself takes to cross the link.
    expect(full.urgentMs).toBeLessThan(3 * none.urgentMs + 300)
    expect(full.urgentMs).toBeLessThan(full.backlogMs / 10)
    // Written mid-drain, it waits at most for the 32 KiB of credit already on the link (~1 s at
    // 256 kbit/s), not for the rest of the backlog.
    expect(full.midDrain!.behind).toBeGreaterThan(full.backlog / 4)
    expect(full.midDrain!.ms).toBeLessThan(2500)
    // The link really was the bottleneck: 2,000 messages of ~100 B cannot cross 256 kbit/s in under 6 s.
    expect(full.backlogMs).toBeGreaterThan(6000)
  }, 120_000)
})
