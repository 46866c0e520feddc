import { type Client, type Conversation, createClient, memoryStorage, type Priority } from '@tidings/core'
import type { FrameOf } from '@tidings/protocol'
import { websocketTransport } from '@tidings/transport-websocket'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { laneDoc, member } from '../helpers.js'
import { later } from './kit.js'

/** A core client (memory storage) on the cluster, with the times it came online. */
export interface ClusterDevice {
  readonly name: string
  readonly client: Client
  convo?: Conversation
  /** performance.now() of each change to `online`. */
  readonly onlineAt: number[]
  /** Every connection state with its performance.now(). */
  readonly states: { state: string; at: number }[]
  offline(): void
  online(): void
}

export const clusterDevice = (url: string, user: string): ClusterDevice => {
  const transport = websocketTransport({
    url,
    token: `t-${user}`,
    WebSocket,
    pingInterval: 1000,
    pingTimeout: 3000,
    backoff: { base: 50, cap: 400 },
  })
  const client = createClient({ user, storage: memoryStorage(), transport, receiptDelay: 0 })
  const onlineAt: number[] = []
  const states: { state: string; at: number }[] = []
  client.on('connection', (state) => {
    states.push({ state, at: performance.now() })
    if (state === 'online') onlineAt.push(performance.now())
  })
  later(() => client.close())
  return {
    name: user,
    client,
    onlineAt,
    states,
    offline: () => transport.disconnect(),
    online: () => transport.connect({ user, device: client.device! }),
  }
}

/** Resolves once `predicate` holds, checked every 10 ms; fails after `timeout` naming `what`. */
export const poll = async (predicate: () => boolean, what: string, timeout = 20_000): Promise<void> => {
  const started = performance.now()
  while (!predicate()) {
    if (performance.now() - started > timeout) throw new Error(`timed out after ${timeout} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The q-quantile of some numbers (nearest rank). */
export const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN
}

/**
 * Cross-process send-to-receive: a raw writer on one process, a raw reader on another; every
 * `everyMs` the writer commits a message and the reader's receipt time is taken.
 */
export const latencyProbe = async (writerUrl: string, readerUrl: string, tag: string) => {
  const writer = await member(writerUrl, 't-probe', 'probe', `probew${tag}`)
  const reader = await member(readerUrl, 't-watch', 'watch', `prober${tag}`)
  const doc = laneDoc('room', 'urgent')
  const sentAt = new Map<string, number>()
  const latencies: number[] = []
  const view = new Y.Doc()
  view.getMap('m').observe((event) => {
    const now = performance.now()
    for (const key of event.keysChanged) {
      const at = sentAt.get(key)
      if (at !== undefined) latencies.push(now - at)
    }
  })
  reader.client.ws.on('message', () => {
    for (const frame of reader.client.frames.splice(0)) {
      if (frame.type === 'update' && frame.doc === doc)
        Y.applyUpdate(view, (frame as FrameOf<'update'>).update)
    }
  })
  let running = true
  const loop = (async () => {
    while (running) {
      const message = writer.device.message(doc, 'probe')
      sentAt.set(message.id, performance.now())
      await writer.client.update(doc, message.update)
      await sleep(20)
    }
  })()
  return {
    latencies,
    sent: () => sentAt.size,
    stop: async () => {
      running = false
      await loop
    },
  }
}

export const priorityOf = (random: () => number): Priority => {
  const r = random()
  return r < 0.1 ? 'urgent' : r < 0.3 ? 'high' : r < 0.9 ? 'normal' : 'low'
}
