import {
  type Conversation,
  createClient,
  memoryStorage,
  type Transport,
  type TransportSession,
} from '@tidings/core'
import { createServer } from '@tidings/server'
import { websocketTransport } from '@tidings/transport-websocket'
import { type LinkResult, type LinkTask, linkProxies, settle, sleep, whenTrue } from './link-net.js'
import { messageText, now } from './workload.js'

const CONVERSATION = 'bench-link'
const token = (user: string) => `t-${user}`

/** A transport whose `connect()` waits for `goOnline()`: the device writes its backlog offline first. */
const offlineUntilCalled = (inner: Transport): { transport: Transport; goOnline(): void } => {
  let session: TransportSession | undefined
  const transport: Transport = {
    get state() {
      return inner.state
    },
    on: (event, listener) => inner.on(event, listener),
    connect: (s) => {
      session = s
    },
    disconnect: () => inner.disconnect(),
    subscribe: (conversation, have) => inner.subscribe(conversation, have),
    unsubscribe: (conversation) => inner.unsubscribe(conversation),
    send: (update) => inner.send(update),
    close: () => inner.close(),
  }
  return { transport, goOnline: () => inner.connect(session!) }
}

const shows = (convo: Conversation, id: string) => () => convo.messages().some((m) => m.id === id)

/**
 * One rep for Tidings: a server on memory storage, a peer (bob) synced through its own throttled
 * link, and a writer (alice) who writes `backlog` normal messages offline, then goes online.
 */
export const tidingsLinkRep = async (task: LinkTask): Promise<LinkResult> => {
  const server = await createServer({
    port: 0,
    storage: memoryStorage(),
    authenticate: (t) => (t.startsWith('t-') ? { userId: t.slice(2), canWrite: true } : null),
    onError: (error) => console.error('[link bench server]', error),
  })
  const proxies = await linkProxies(task, server)
  const peerTransport = websocketTransport({ url: proxies.peer.url, token: token('bob') })
  let urgentDeliveries = 0
  peerTransport.on('update', ({ doc, update }) => {
    if (doc.includes('/urgent/') && update.length > 2) urgentDeliveries++
  })
  const peer = createClient({ user: 'bob', storage: memoryStorage(), transport: peerTransport })
  const seen = await peer.open(CONVERSATION)
  await peer.whenSynced()

  const gate = offlineUntilCalled(websocketTransport({ url: proxies.writer.url, token: token('alice') }))
  const writer = createClient({ user: 'alice', storage: memoryStorage(), transport: gate.transport })
  const convo = await writer.open(CONVERSATION)
  const sends: Promise<unknown>[] = []
  for (let i = 1; i <= task.backlog; i++) sends.push(convo.send({ text: messageText(i) }))
  await Promise.all(sends)
  const urgentText = 'urgent: confirm the contract'
  const offlineUrgent = task.urgentAfterMs === null
  let urgentId = ''
  if (offlineUrgent) urgentId = (await convo.send({ text: urgentText }, { priority: 'urgent' })).id
  const subscribe = (fn: () => void) => seen.subscribe(fn)
  const total = task.backlog + 1

  await settle()
  const connected = now()
  gate.goOnline()
  let sentAt = connected
  if (!offlineUrgent) {
    await sleep(task.urgentAfterMs)
    sentAt = now()
    urgentId = (await convo.send({ text: urgentText }, { priority: 'urgent' })).id
  }
  const shown = await whenTrue(subscribe, shows(seen, urgentId))
  const caughtUp = task.catchUp
    ? await whenTrue(subscribe, () => seen.messages().length >= total)
    : Number.NaN
  const result: LinkResult = {
    urgentMs: shown - sentAt,
    catchUpMs: caughtUp - connected,
    bytesUp: proxies.writer.bytes.up,
    bytesDown: proxies.peer.bytes.down,
    urgentDeliveries,
  }
  await Promise.all([writer.close(), peer.close()])
  await proxies.close()
  await server.close()
  return result
}
