// The page of the IndexedDB bench, bundled for Chromium: `window.idbBench[peer](messages, name)`
// appends that many messages, each awaited until durable, into a fresh database and returns the
// milliseconds they took (after a warm-up in the same database).
import { createClient } from '@tidings/core'
import { indexeddbStorage } from '@tidings/storage-indexeddb'
import { IndexeddbPersistence } from 'y-indexeddb'
import * as Y from 'yjs'
import { messageKey, messageRecord, messageText, USER } from './workload.js'

export type IdbPeer = 'tidings' | 'raw' | 'yIndexeddb'

declare global {
  interface Window {
    idbBench: Record<IdbPeer, (messages: number, name: string) => Promise<number>>
  }
}

const WARM_UP = 20

const settled = (tx: IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    tx.onerror = () => reject(tx.error)
    tx.onabort = () => reject(tx.error)
  })

const timed = async (messages: number, one: (i: number) => Promise<unknown>): Promise<number> => {
  for (let i = 1; i <= WARM_UP; i++) await one(i)
  const start = performance.now()
  for (let i = WARM_UP + 1; i <= WARM_UP + messages; i++) await one(i)
  return performance.now() - start
}

/** Tidings: `convo.send`, awaited: each resolves after its `durability: 'strict'` transaction. */
const tidings = async (messages: number, name: string): Promise<number> => {
  const client = createClient({ user: USER, storage: indexeddbStorage({ name }) })
  const convo = await client.open('bench')
  const ms = await timed(messages, (i) => convo.send({ text: messageText(i) }))
  await client.close()
  return ms
}

/** The floor: one `put` of the message record per `durability: 'strict'` transaction, awaited. */
const raw = async (messages: number, name: string): Promise<number> => {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open(name, 1)
    open.onupgradeneeded = () => open.result.createObjectStore('messages')
    open.onsuccess = () => resolve(open.result)
    open.onerror = () => reject(open.error)
  })
  const ms = await timed(messages, (i) => {
    const tx = db.transaction('messages', 'readwrite', { durability: 'strict' })
    tx.objectStore('messages').put(messageRecord(i, Date.now()), messageKey(i))
    return settled(tx)
  })
  db.close()
  return ms
}

/**
 * y-indexeddb as it is: `Y.Map.set` per message, which it stores in a transaction of its own at
 * the browser's default durability; each is awaited by a read-write transaction on the same store
 * after it (they complete in order).
 */
const yIndexeddb = async (messages: number, name: string): Promise<number> => {
  const doc = new Y.Doc()
  const persistence = new IndexeddbPersistence(name, doc)
  await persistence.whenSynced
  const db = await (persistence as unknown as { _db: Promise<IDBDatabase> })._db
  const map = doc.getMap('m')
  const ms = await timed(messages, (i) => {
    map.set(messageKey(i), messageRecord(i, Date.now()))
    return settled(db.transaction('updates', 'readwrite'))
  })
  await persistence.destroy()
  return ms
}

window.idbBench = { tidings, raw, yIndexeddb }
