import { assertConverged } from '@tidings/testing'
import { describe, expect, it } from 'vitest'
import { type ClusterDevice, clusterDevice, poll, sleep } from './clients.js'
import { hasRedisServer, isolation, missingBackends, ownRedis, spawnNode } from './kit.js'

const missing = await missingBackends('cluster redis restart')
const noBinary = hasRedisServer() ? undefined : 'no redis-server binary on the PATH to restart'
if (!missing && noBinary) console.warn(`[cluster redis restart] skipped: ${noBinary}`)

const CLIENTS_PER_NODE = 2
const OUTAGE_MS = 3000

describe.skipIf(missing !== undefined || noBinary !== undefined)(
  'Redis restarted under a live cluster',
  () => {
    it('loses no update to a live client: storage catches every process up', async () => {
      const redis = await ownRedis()
      const isolated = isolation()
      const nodes = await Promise.all([0, 1, 2].map(() => spawnNode(isolated, redis.url)))
      const devices: ClusterDevice[] = nodes.flatMap((node, n) =>
        Array.from({ length: CLIENTS_PER_NODE }, (_, i) => clusterDevice(node.url, `n${n}c${i}`)),
      )
      for (const d of devices) d.convo = await d.client.open('room')
      await poll(() => devices.every((d) => d.client.connection === 'online'), 'every client online')

      const sent: string[] = []
      let writing = true
      const writers = devices.map(async (d, i) => {
        for (let k = 0; writing; k++) {
          const message = await d.convo!.send(
            { text: `${d.name} #${k}` },
            { priority: i % 2 ? 'normal' : 'high' },
          )
          sent.push(message.id)
          await sleep(150)
        }
      })
      await sleep(1000)
      await redis.kill()
      const downAt = performance.now()
      const sentBeforeOutage = sent.length
      await sleep(OUTAGE_MS)
      // Written while Redis was down, and seen by every client before it came back: the periodic
      // catch-up from storage, not the fan-out, delivered them.
      const duringOutage = sent.slice(sentBeforeOutage)
      const seenDuringOutage = duringOutage.filter((id) =>
        devices.every((d) => d.convo!.messages().some((m) => m.id === id)),
      ).length
      await redis.start()
      const upAt = performance.now()
      await sleep(1000)
      writing = false
      await Promise.all(writers)
      const sentAll = [...sent]

      // Nobody reconnected: their server processes stayed up.
      expect(devices.every((d) => d.onlineAt.length === 1)).toBe(true)
      await poll(
        () => devices.every((d) => sentAll.every((id) => d.convo!.messages().some((m) => m.id === id))),
        'every live client holds every message',
        15_000,
      )
      const caughtUp = performance.now() - upAt
      await assertConverged(
        devices.map((d) => ({ client: d.client, name: d.name })),
        'room',
        { within: 10_000 },
      )
      console.log(
        `[cluster redis restart] ${sentAll.length} messages from ${devices.length} clients on 3 processes; ` +
          `Redis down ${((upAt - downAt) / 1000).toFixed(1)} s: ${seenDuringOutage} of ${duringOutage.length} ` +
          `messages written meanwhile reached every client before it was back; all caught up ` +
          `${Math.max(0, caughtUp).toFixed(0)} ms after it was back`,
      )
    }, 60_000)
  },
)
