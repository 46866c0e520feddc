import { assertConverged, prng, roundRobinBalancer } from '@tidings/testing'
import { describe, expect, it } from 'vitest'
import {
  type ClusterDevice,
  clusterDevice,
  latencyProbe,
  poll,
  priorityOf,
  quantile,
  sleep,
} from './clients.js'
import { isolation, later, missingBackends, spawnNode } from './kit.js'

const skip = await missingBackends('cluster failover')

const CLIENTS = 20
const MESSAGES_EACH = 12
const BURST_EACH = 10
const SEED = Number(process.env.TIDINGS_SEED ?? 13)

describe.skipIf(skip !== undefined)(
  'three server processes on PostgreSQL and Redis, behind a balancer',
  () => {
    it('20 clients converge through a kill -9 under load, nothing acknowledged is lost, and the process rejoins', async () => {
      const random = prng(SEED)
      const isolated = isolation()
      const nodes = await Promise.all([0, 1, 2].map(() => spawnNode(isolated)))
      const balancer = await roundRobinBalancer({ targets: nodes })
      later(() => balancer.close())

      const devices: ClusterDevice[] = Array.from({ length: CLIENTS }, (_, i) =>
        clusterDevice(balancer.url, `u${i}`),
      )
      for (const d of devices) d.convo = await d.client.open('room')
      await poll(() => devices.every((d) => d.client.connection === 'online'), 'every client online')
      // Round robin: each process holds a third of the clients of the one conversation.
      expect([...balancer.accepted.values()].sort()).toEqual([6, 7, 7])

      // Sends are tracked from the call; acknowledged = the server's ack turned the status from pending.
      const sentAt = new Map<string, number>()
      const acked = new Set<string>()
      for (const d of devices) {
        d.convo!.subscribe(() => {
          for (const id of sentAt.keys())
            if (!acked.has(id) && mine(d, id) && d.convo!.status(id) !== 'pending') acked.add(id)
        })
      }
      const mine = (d: ClusterDevice, id: string) => id.startsWith(`${d.client.device}.`)

      const probe = await latencyProbe(nodes[0]!.url, nodes[1]!.url, 'a')
      const started = performance.now()
      let killedAt = 0
      const victim = nodes[2]!
      const kill = (async () => {
        await sleep(1500)
        killedAt = performance.now()
        victim.kill()
        await victim.exited
      })()
      await Promise.all(
        devices.map(async (d, i) => {
          for (let k = 0; k < MESSAGES_EACH; k++) {
            // A few clients spend a while offline, writing into their outbox.
            if (i % 5 === 0 && k === 4) d.offline()
            if (i % 5 === 0 && k === 7) d.online()
            const priority = priorityOf(random)
            const message = await d.convo!.send({ text: `${d.name} #${k} ${priority}` }, { priority })
            sentAt.set(message.id, performance.now())
            await sleep(40 + random() * 160)
          }
        }),
      )
      await kill
      const total = CLIENTS * MESSAGES_EACH
      await poll(() => acked.size === total, `all ${total} messages acknowledged`, 30_000)
      const loadSeconds = (performance.now() - started) / 1000
      await probe.stop()

      // Every client that was on the killed process came back online through the balancer.
      await poll(() => devices.every((d) => d.client.connection === 'online'), 'every client online again')
      if (process.env.TIDINGS_CLUSTER_TRACE)
        for (const d of devices)
          console.log(
            d.name,
            d.states
              .filter((x) => x.at > killedAt)
              .map((x) => `${x.state}@${(x.at - killedAt).toFixed(0)}`)
              .join(' '),
          )
      const failover = Math.max(
        ...devices.map((d) => (d.onlineAt.find((at) => at > killedAt) ?? killedAt) - killedAt),
      )

      // The killed process restarts and takes clients again: a new client lands on it.
      const restarted = await spawnNode(isolated)
      balancer.setTargets([nodes[0]!, nodes[1]!, restarted])
      const joiner = clusterDevice(restarted.url, 'joiner')
      joiner.convo = await joiner.client.open('room')
      await poll(() => joiner.client.connection === 'online', 'the joiner online')
      const hello = await joiner.convo.send({ text: 'back' }, { priority: 'urgent' })
      await poll(
        () => devices.every((d) => d.convo!.messages().some((m) => m.id === hello.id)),
        'the rejoined process relays',
      )

      const replicas = [...devices, joiner].map((d) => ({ client: d.client, name: d.name }))
      await assertConverged(replicas, 'room', { within: 20_000 })
      const everyone = [...devices, joiner]
      const lost = [...acked].filter((id) =>
        everyone.some((d) => !d.convo!.messages().some((m) => m.id === id)),
      )
      expect(lost).toEqual([])
      // The clients' messages, the joiner's, and the probe's.
      expect(joiner.convo.messages().length).toBe(total + 1 + probe.sent())

      // Throughput: every client sends a burst at once; the time until the cluster acked them all.
      const burstStart = performance.now()
      await Promise.all(
        devices.map(async (d) => {
          for (let k = 0; k < BURST_EACH; k++) {
            const message = await d.convo!.send({ text: `${d.name} burst ${k}` })
            sentAt.set(message.id, performance.now())
          }
        }),
      )
      await poll(() => acked.size === total + CLIENTS * BURST_EACH, 'the burst acknowledged', 30_000)
      const burstPerSecond = Math.round((CLIENTS * BURST_EACH) / ((performance.now() - burstStart) / 1000))

      const updatesPerSecond = Math.round(total / loadSeconds)
      console.log(
        `[cluster] ${total} messages from ${CLIENTS} clients over 3 processes in ${loadSeconds.toFixed(1)} s ` +
          `(${updatesPerSecond} messages/s, paced by the clients); a burst of ${CLIENTS * BURST_EACH} ` +
          `acknowledged at ${burstPerSecond} messages/s; cross-process send-to-receive over ` +
          `${probe.latencies.length} probes (${probe.sent()} sent) p50 ${quantile(probe.latencies, 0.5).toFixed(1)} ms, ` +
          `p99 ${quantile(probe.latencies, 0.99).toFixed(1)} ms; failover after kill -9: ${failover.toFixed(0)} ms; ` +
          `acknowledged lost: ${lost.length}`,
      )
    }, 60_000)
  },
)
