import { randomBytes } from 'node:crypto'
import type { Fanout, FanoutSink } from '@tidings/protocol'
import { Redis } from 'ioredis'

/** Options of `redisFanout`. */
export interface RedisFanoutOptions {
  /** `redis://host:port[/db]`. */
  readonly url: string
  /**
   * Prefix of every channel name (default `tidings:`): processes that share a prefix share
   * conversations, so two clusters (or two tests) on one Redis stay apart.
   */
  readonly prefix?: string
  /**
   * Names the two Redis connections `<name>-pub` and `<name>-sub` (in CLIENT LIST); default
   * `tidings-<random>`.
   */
  readonly name?: string
  /** Told of connection errors (default: ignored, ioredis reconnects by itself). */
  readonly onError?: (error: unknown) => void
}

/** Bytes of the random id that marks each process's own payloads. */
const ORIGIN_BYTES = 8

/** Reconnect quickly at first, then at most every second: a restarted Redis is back in ms. */
const retryStrategy = (attempt: number): number => Math.min(50 * attempt, 1000)

/** The URL without its password, for logs. */
const shown = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparsable url)'
  }
}

/**
 * Cross-process fan-out over Redis pub/sub: one channel per conversation. Pub/sub is fire and
 * forget (Redis keeps nothing), which is what a fan-out needs here: every committed update is in
 * storage already, with its row number, and a process that may have missed payloads (its
 * subscriber connection dropped, Redis restarted) catches up from storage, which the server does
 * on `missed()`. See docs/scale-out.md for why not streams.
 */
export const redisFanout = (options: RedisFanoutOptions): Fanout => {
  const prefix = options.prefix ?? 'tidings:'
  const origin = randomBytes(ORIGIN_BYTES)
  const report = options.onError ?? (() => undefined)
  // No offline queue: while Redis is away a publish is dropped at once rather than piling up in
  // memory (storage has the update; the others catch up), and a subscribe is redone on `ready`.
  const common = {
    retryStrategy,
    maxRetriesPerRequest: null,
    lazyConnect: true,
    enableOfflineQueue: false,
  } as const
  // A connection in subscriber mode can do nothing else: publishing needs its own.
  const name = options.name ?? `tidings-${origin.toString('hex')}`
  const pub = new Redis(options.url, { ...common, connectionName: `${name}-pub` })
  // We resubscribe ourselves: ioredis emits `ready` before its own resubscription is done, and
  // the catch-up must start only after the channels are live again.
  const sub = new Redis(options.url, { ...common, autoResubscribe: false, connectionName: `${name}-sub` })
  const channels = new Set<string>()
  let sink: FanoutSink | undefined
  let started = false
  let closed = false
  pub.on('error', report)
  sub.on('error', report)
  const channelOf = (conversation: string) => `${prefix}c:${conversation}`

  sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
    if (message.length < ORIGIN_BYTES || origin.equals(message.subarray(0, ORIGIN_BYTES))) return
    const name = channel.toString()
    if (!name.startsWith(`${prefix}c:`)) return
    sink?.message(name.slice(prefix.length + 2), message.subarray(ORIGIN_BYTES))
  })
  sub.on('ready', () => {
    if (!started || closed) return
    // A reconnection: whatever was published meanwhile is gone for us.
    const live = [...channels]
    ;(live.length > 0 ? sub.subscribe(...live) : Promise.resolve()).then(() => sink?.missed()).catch(report)
  })

  return {
    shared: true,
    start: async (target) => {
      sink = target
      try {
        await Promise.all([pub.connect(), sub.connect()])
      } catch (error) {
        // Storage is the log: the server serves from it (and its periodic catch-up) meanwhile.
        // ioredis keeps reconnecting; the first `ready` subscribes and reports what was missed.
        const reason = error instanceof Error ? error.message : String(error)
        target.warn?.(
          `Redis at ${shown(options.url)} is unreachable (${reason}): starting without it, ` +
            'other processes’ updates come from storage every few seconds until it connects',
        )
      }
      started = true
    },
    subscribe: async (conversation) => {
      const channel = channelOf(conversation)
      if (channels.has(channel)) return
      channels.add(channel)
      // Redis away: `ready` subscribes every channel again, then reports what may have been missed.
      await sub.subscribe(channel).catch(report)
    },
    unsubscribe: (conversation) => {
      const channel = channelOf(conversation)
      if (!channels.delete(channel)) return
      if (sub.status === 'ready') sub.unsubscribe(channel).catch(report)
    },
    publish: (conversation, payload) => {
      if (pub.status !== 'ready') return
      pub.publish(channelOf(conversation), Buffer.concat([origin, payload])).catch(report)
    },
    close: async () => {
      closed = true
      sink = undefined
      await Promise.allSettled([pub.quit(), sub.quit()])
      pub.disconnect()
      sub.disconnect()
    },
  }
}
