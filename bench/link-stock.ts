import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { type LinkResult, type LinkTask, linkProxies, settle, sleep, whenTrue } from './link-net.js'
import { startStockServer } from './link-stock-server.js'
import { messageKey, messageRecord, now } from './workload.js'

const ROOM = 'bench-link'
const URGENT_KEY = 'urgent'

const provider = (url: string, doc: Y.Doc, connect: boolean) =>
  new WebsocketProvider(url, ROOM, doc, {
    connect,
    // biome-ignore lint/suspicious/noExplicitAny: y-websocket types its polyfill as the DOM WebSocket
    WebSocketPolyfill: WebSocket as any,
    disableBc: true,
  })

/**
 * One rep for stock Yjs + y-websocket: one Y.Doc per device and a WebsocketProvider against a
 * standard y-websocket server, each device behind its own throttled link. The writer syncs,
 * disconnects, sets its backlog offline (one transaction per message, as separate sends would),
 * then connects again.
 */
export const stockLinkRep = async (task: LinkTask): Promise<LinkResult> => {
  const server = await startStockServer()
  const proxies = await linkProxies(task, server)
  const seenDoc = new Y.Doc()
  const seen = seenDoc.getMap<unknown>('m')
  const peer = provider(proxies.peer.url, seenDoc, true)
  await new Promise<void>((resolve) => peer.once('sync', () => resolve()))

  // A device that was online before: it synced, lost the link, and wrote its backlog offline.
  const doc = new Y.Doc()
  const map = doc.getMap<unknown>('m')
  const writer = provider(proxies.writer.url, doc, true)
  await new Promise<void>((resolve) => writer.once('sync', () => resolve()))
  writer.disconnect()
  for (let i = 1; i <= task.backlog; i++) map.set(messageKey(i), messageRecord(i))
  const urgent = () => map.set(URGENT_KEY, { ...messageRecord(task.backlog + 1), priority: 'urgent' })
  const offlineUrgent = task.urgentAfterMs === null
  if (offlineUrgent) urgent()
  const subscribe = (fn: () => void) => {
    seenDoc.on('update', fn)
    return () => seenDoc.off('update', fn)
  }

  await settle()
  const upBefore = proxies.writer.bytes.up
  const downBefore = proxies.peer.bytes.down
  const connected = now()
  writer.connect()
  let sentAt = connected
  if (!offlineUrgent) {
    await sleep(task.urgentAfterMs)
    sentAt = now()
    urgent()
  }
  const shown = await whenTrue(subscribe, () => seen.has(URGENT_KEY))
  const total = task.backlog + 1
  const caughtUp = task.catchUp ? await whenTrue(subscribe, () => seen.size >= total) : Number.NaN
  const result: LinkResult = {
    urgentMs: shown - sentAt,
    catchUpMs: caughtUp - connected,
    bytesUp: proxies.writer.bytes.up - upBefore,
    bytesDown: proxies.peer.bytes.down - downBefore,
    // One doc and one sync: the same structs cannot arrive twice in a way worth counting here.
    urgentDeliveries: Number.NaN,
  }
  writer.destroy()
  peer.destroy()
  await proxies.close()
  await server.close()
  return result
}
