import {
  type Conversation,
  createClient,
  DEFAULT_PERIOD_MS,
  memoryStorage,
  parseDocName,
} from '@tidings/core'
import { createServer } from '@tidings/server'
import { websocketTransport } from '@tidings/transport-websocket'
import { WebSocket } from 'ws'
import { inChild } from './child.js'
import { generateConversation, type Layout } from './generate.js'
import { bytes, int } from './table.js'
import { log, now } from './workload.js'

const CONVERSATION = 'bench-join'
const FIRST_SCREEN = 50
/** A join that has not shown its first screen by then is reported as such, not waited for. */
const GIVE_UP_MS = 120_000

/** What a new device downloaded before its first screen showed, and in all. */
export interface JoinResult {
  readonly messages: number
  readonly periods: number
  readonly firstScreenMs: number
  /** Distinct message-bearing periods the device received updates of before its first screen. */
  readonly periodsBefore: number
  readonly bytesBefore: number
  /** Until `whenSynced()`: everything the first sync brings. */
  readonly syncedMs: number
  readonly periodsSynced: number
  readonly bytesSynced: number
  readonly shownAfterSync: number
}

/** Resolves once the conversation shows `count` messages (or after `ms`, then false). */
const shows = (convo: Conversation, count: number, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    const done = (ok: boolean) => {
      stop()
      clearTimeout(timer)
      resolve(ok)
    }
    const stop = convo.subscribe(() => {
      if (convo.messages().length >= count) done(true)
    })
    const timer = setTimeout(() => done(false), ms)
    if (convo.messages().length >= count) done(true)
  })

/**
 * A server on 127.0.0.1 (port 0) whose storage holds `layout`, and a new device of another user
 * joining it through the websocket transport: bytes it receives (every frame) and the periods of
 * the docs it receives updates of, until the first screen shows and until `whenSynced()`.
 */
export const measureJoin = async (layout: Layout): Promise<JoinResult> => {
  const stored = memoryStorage()
  await generateConversation(stored, CONVERSATION, layout, DEFAULT_PERIOD_MS)
  const server = await createServer({
    port: 0,
    host: '127.0.0.1',
    storage: stored,
    authenticate: (token) => ({ userId: token, canWrite: true }),
    onError: () => {},
  })
  let received = 0
  class CountingWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args)
      this.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        received += Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength
      })
    }
  }
  const transport = websocketTransport({ url: server.url, token: 'bob', WebSocket: CountingWebSocket })
  const periods = new Set<number>()
  transport.on('update', ({ doc }) => {
    const ref = parseDocName(doc)
    if (ref && ref.kind !== 'meta' && ref.kind !== 'receipts') periods.add(ref.period)
  })
  const client = createClient({ user: 'bob', storage: memoryStorage(), transport })
  try {
    const start = now()
    const convo = await client.open(CONVERSATION)
    const shown = await shows(convo, FIRST_SCREEN, GIVE_UP_MS)
    const firstScreenMs = shown ? now() - start : Number.NaN
    const periodsBefore = periods.size
    const bytesBefore = received
    await client.whenSynced()
    const syncedMs = now() - start
    log(
      `  join: first screen after ${periodsBefore} periods, ${bytes(bytesBefore)}; synced after ${periods.size} periods, ${bytes(received)}, showing ${int(convo.messages().length)}`,
    )
    return {
      messages: layout.messages,
      periods: Math.ceil(layout.messages / layout.perPeriod),
      firstScreenMs,
      periodsBefore,
      bytesBefore,
      syncedMs,
      periodsSynced: periods.size,
      bytesSynced: received,
      shownAfterSync: convo.messages().length,
    }
  } finally {
    await client.close()
    await server.close()
  }
}

export const runJoin = (layout: Layout): Promise<JoinResult> => inChild<JoinResult>({ kind: 'join', layout })
