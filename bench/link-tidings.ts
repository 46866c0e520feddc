import { type Conversation, createClient, memoryStorage } from '@tidings/core'
import { createServer } from '@tidings/server'
import { websocketTransport } from '@tidings/transport-websocket'
import { type LinkResult, type LinkTask, linkProxies, settle, sleep, whenTrue } from './link-net.js'
import { messageText, now } from './workload.js'

const CONVERSATION = 'bench-link'
const token = (user: string) => `t-${user}`

const shows = (convo: Conversation, id: string) => () => convo.messages().some((m) => m.id === id)

/**
 * One rep for Tidings: a server on memory storage, a peer (bob) synced through its own throttled
 * link, and a writer (alice) who was online, writes `backlog` normal messages offline, then
 * connects again.
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

  // A device that was online before: it synced, lost the link, and wrote its backlog offline.
  const link = websocketTransport({ url: proxies.writer.url, token: token('alice') })
  const writer = createClient({ user: 'alice', storage: memoryStorage(), transport: link })
  const convo = await writer.open(CONVERSATION)
  await writer.whenSynced()
  link.disconnect()
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
  const upBefore = proxies.writer.bytes.up
  const downBefore = proxies.peer.bytes.down
  const connected = now()
  link.connect({ user: 'alice', device: writer.device! })
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
    bytesUp: proxies.writer.bytes.up - upBefore,
    bytesDown: proxies.peer.bytes.down - downBefore,
    urgentDeliveries,
  }
  await Promise.all([writer.close(), peer.close()])
  await proxies.close()
  await server.close()
  return result
}
