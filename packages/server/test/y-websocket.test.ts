import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { Device, laneDoc, startServer, storedDoc, TestClient } from './helpers.js'

const providers: WebsocketProvider[] = []
afterEach(() => {
  for (const provider of providers.splice(0)) provider.destroy()
})

/** An unmodified y-websocket client on `/y/<room>`. */
const connect = (url: string, room: string, params: Record<string, string>) => {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(`${url}/y`, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params,
    // Two providers in one process would otherwise sync over BroadcastChannel, not the server.
    disableBc: true,
  })
  providers.push(provider)
  const synced = new Promise<void>((resolve) => {
    if (provider.synced) resolve()
    else provider.once('sync', () => resolve())
  })
  return { doc, provider, synced }
}

/** Resolves once `check` holds for the doc, re-checking after each of its updates. */
const until = (doc: Y.Doc, check: () => boolean): Promise<void> =>
  new Promise((resolve) => {
    if (check()) return resolve()
    const listener = () => {
      if (!check()) return
      doc.off('update', listener)
      resolve()
    }
    doc.on('update', listener)
  })

const record = (author: string, device: string, body: string) => ({
  author,
  device,
  stamp: { wall: Date.now(), counter: 0 },
  body,
  priority: 'normal',
})

describe('y-websocket interop at /y/<docName>', () => {
  it('lets two stock providers share a plain doc of the app’s own', async () => {
    const server = await startServer()
    const a = connect(server.url, 'notes', { token: 't-alice' })
    const b = connect(server.url, 'notes', { token: 't-bob' })
    await Promise.all([a.synced, b.synced])
    a.doc.getText('t').insert(0, 'hello ')
    await until(b.doc, () => b.doc.getText('t').toString() === 'hello ')
    b.doc.getText('t').insert(6, 'world')
    await until(a.doc, () => a.doc.getText('t').toString() === 'hello world')
    await server.idle()
    expect((await storedDoc(server.storage, 'notes')).getText('t').toString()).toBe('hello world')
    // A third provider that joins later gets the stored state.
    const c = connect(server.url, 'notes', { token: 't-mallory' })
    await c.synced
    await until(c.doc, () => c.doc.getText('t').toString() === 'hello world')
  })

  it('lets two stock providers share a lane period doc, under the Tidings checks', async () => {
    const server = await startServer()
    // Each device registers in the conversation first: nothing is accepted for it before.
    const members = [
      ['t-alice', 'alice', 'alicedev1'],
      ['t-bob', 'bob', 'bobdev01'],
      ['t-mallory', 'mallory', 'mallory1'],
    ] as const
    for (const [token, user, id] of members) {
      const member = await TestClient.connect(server.url, token, id)
      await member.subscribe('room')
      expect(await member.update('room/meta', new Device(user, id).register('room'))).toBe('ack')
    }
    const room = laneDoc('room')
    const a = connect(server.url, room, { token: 't-alice', device: 'alicedev1' })
    const b = connect(server.url, room, { token: 't-bob', device: 'bobdev01' })
    await Promise.all([a.synced, b.synced])
    a.doc.getMap('m').set('alicedev1.1', record('alice', 'alicedev1', 'from alice'))
    await until(b.doc, () => b.doc.getMap('m').has('alicedev1.1'))
    b.doc.getMap('m').set('bobdev01.1', record('bob', 'bobdev01', 'from bob'))
    await until(a.doc, () => a.doc.getMap('m').has('bobdev01.1'))

    // A Tidings subscriber of the conversation gets the same doc.
    const tidings = await TestClient.connect(server.url, 't-mallory', 'mallory1')
    await tidings.subscribe('room')
    const replica = new Y.Doc()
    await tidings.syncStep1(room, replica)
    expect([...replica.getMap('m').keys()].sort()).toEqual(['alicedev1.1', 'bobdev01.1'])
    // ... and its writes reach the y-websocket providers.
    const update = new Device('mallory', 'mallory1').message(room, 'from tidings').update
    expect(await tidings.update(room, update)).toBe('ack')
    await until(a.doc, () => a.doc.getMap('m').has('mallory1.1'))

    // Bob impersonating alice over y-websocket is dropped: alice never sees it, storage lacks it.
    b.doc.getMap('m').set('alicedev1.2', record('alice', 'alicedev1', 'forged'))
    a.doc.getMap('m').set('alicedev1.3', record('alice', 'alicedev1', 'still syncing'))
    await until(b.doc, () => b.doc.getMap('m').has('alicedev1.3'))
    await server.idle()
    expect(a.doc.getMap('m').has('alicedev1.2')).toBe(false)
    expect((await storedDoc(server.storage, room)).getMap('m').has('alicedev1.2')).toBe(false)
  })

  it('shares presence between providers of a room', async () => {
    const server = await startServer()
    const a = connect(server.url, 'notes', { token: 't-alice' })
    const b = connect(server.url, 'notes', { token: 't-bob' })
    await Promise.all([a.synced, b.synced])
    a.provider.awareness.setLocalStateField('name', 'alice')
    await new Promise<void>((resolve) => {
      const check = () => {
        if (b.provider.awareness.getStates().get(a.doc.clientID)?.name === 'alice') resolve()
      }
      b.provider.awareness.on('change', check)
      check()
    })
  })

  it('refuses a missing token with 401, and a refused one with close 4401', async () => {
    const server = await startServer()
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${server.url}/y/notes`)
      ws.on('error', () => {})
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0)
        ws.terminate()
      })
    })
    expect(status).toBe(401)
    const code = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${server.url}/y/notes?token=nobody`)
      ws.on('close', (c) => resolve(c))
    })
    expect(code).toBe(4401)
  })
})
