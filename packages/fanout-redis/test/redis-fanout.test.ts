import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import type { Fanout } from '@tidings/server'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { hasRedisServer, ownRedis } from '../../server/test/cluster/kit.js'
import { redisFanout } from '../src/index.js'

const REDIS_URL = process.env.TIDINGS_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** True when something answers at the URL's host and port. */
const reachable = (url: string): Promise<boolean> =>
  new Promise((resolve) => {
    const { hostname, port } = new URL(url)
    const socket = connect(Number(port || 6379), hostname)
    socket.setTimeout(1000)
    socket.once('connect', () => resolve(true))
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => resolve(false))
    socket.once('close', () => socket.destroy())
    socket.once('connect', () => socket.end())
  })

const up = await reachable(REDIS_URL)
if (!up) console.warn(`[fanout-redis] skipped: no Redis at ${REDIS_URL} (set TIDINGS_REDIS_URL)`)

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

interface Heard {
  readonly payloads: { conversation: string; text: string }[]
  missed: number
  readonly warnings: string[]
}

/** A started fan-out whose deliveries are recorded, closed after the test. */
const node = async (
  prefix: string,
  name?: string,
  url = REDIS_URL,
): Promise<{ fanout: Fanout; heard: Heard }> => {
  const fanout = redisFanout({ url, prefix, ...(name ? { name } : {}) })
  const heard: Heard = { payloads: [], missed: 0, warnings: [] }
  await fanout.start({
    message: (conversation, payload) =>
      heard.payloads.push({ conversation, text: Buffer.from(payload).toString() }),
    missed: () => {
      heard.missed++
    },
    warn: (message) => heard.warnings.push(message),
  })
  cleanups.push(() => fanout.close())
  return { fanout, heard }
}

const until = async (predicate: () => boolean, what: string, timeout = 10_000): Promise<void> => {
  const started = performance.now()
  while (!predicate()) {
    if (performance.now() - started > timeout) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const text = (s: string) => new TextEncoder().encode(s)

describe.skipIf(!up)('redisFanout', () => {
  it('delivers every payload to the other subscribers, in order, never back to its publisher', async () => {
    const prefix = `test:${randomBytes(4).toString('hex')}:`
    const a = await node(prefix)
    const b = await node(prefix)
    const other = await node(`${prefix}other:`)
    for (const n of [a, b, other]) await n.fanout.subscribe('room')
    await b.fanout.subscribe('hall')
    for (let i = 0; i < 300; i++) a.fanout.publish('room', text(`m${i}`))
    a.fanout.publish('hall', text('hello'))
    a.fanout.publish('elsewhere', text('nobody'))
    await until(() => b.heard.payloads.length === 301, 'all payloads at b')
    expect(b.heard.payloads.filter((p) => p.conversation === 'room').map((p) => p.text)).toEqual(
      Array.from({ length: 300 }, (_, i) => `m${i}`),
    )
    expect(b.heard.payloads.at(-1)).toEqual({ conversation: 'hall', text: 'hello' })
    // Nothing comes back to a: a round trip through b proves a's channel is drained.
    b.fanout.publish('room', text('from b'))
    await until(() => a.heard.payloads.length === 1, 'b at a')
    expect(a.heard.payloads).toEqual([{ conversation: 'room', text: 'from b' }])
    expect(other.heard.payloads).toEqual([])
    b.fanout.unsubscribe('room')
    a.fanout.publish('room', text('gone'))
    a.fanout.publish('hall', text('still'))
    await until(() => b.heard.payloads.at(-1)?.text === 'still', 'hall at b')
    expect(b.heard.payloads.map((p) => p.text)).not.toContain('gone')
  })

  it('reports missed payloads once its subscriber connection is back, and hears again', async () => {
    const prefix = `test:${randomBytes(4).toString('hex')}:`
    const a = await node(prefix)
    const name = `test-${randomBytes(4).toString('hex')}`
    const b = await node(prefix, name)
    await b.fanout.subscribe('room')
    a.fanout.publish('room', text('before'))
    await until(() => b.heard.payloads.length === 1, 'the first payload')
    // A network blip on b's side: Redis drops its subscriber connection.
    const admin = new Redis(REDIS_URL)
    cleanups.push(() => admin.quit())
    const clients = (await admin.client('LIST')) as string
    const line = clients.split('\n').find((l) => l.includes(`name=${name}-sub `))
    expect(line).toBeDefined()
    const id = /id=(\d+)/.exec(line!)![1]
    await admin.client('KILL', 'ID', id!)
    await until(() => b.heard.missed === 1, 'missed() after the reconnection')
    a.fanout.publish('room', text('after'))
    await until(() => b.heard.payloads.at(-1)?.text === 'after', 'a payload after the reconnection')
  })

  it.skipIf(!hasRedisServer())(
    'starts while Redis is down, warns naming it, and reports missed payloads once connected',
    async () => {
      const prefix = `test:${randomBytes(4).toString('hex')}:`
      const redis = await ownRedis()
      await redis.kill()
      const b = await node(prefix, undefined, redis.url)
      expect(b.heard.warnings).toEqual([expect.stringContaining(`Redis at ${redis.url}`)])
      await b.fanout.subscribe('room')
      await redis.start()
      await until(() => b.heard.missed === 1, 'missed() once connected')
      const a = await node(prefix, undefined, redis.url)
      expect(a.heard.warnings).toEqual([])
      a.fanout.publish('room', text('hello'))
      await until(() => b.heard.payloads.at(-1)?.text === 'hello', 'a payload once connected')
    },
  )
})
