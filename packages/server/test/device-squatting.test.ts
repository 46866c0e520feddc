import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { Device, laneDoc, startServer, storedDoc, TestClient } from './helpers.js'

const stamp = () => ({ wall: Date.now(), counter: 0 })

/** Alice used `alicedev1` in conversation `one`; mallory is a registered member of `two`. */
const setup = async () => {
  const server = await startServer()
  const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
  await alice.subscribe('one')
  const aliceDevice = new Device('alice', 'alicedev1')
  expect(await alice.update('one/meta', aliceDevice.register('one'))).toBe('ack')
  const mallory = await TestClient.connect(server.url, 't-mallory', 'malldev1')
  await mallory.subscribe('two')
  const malloryDevice = new Device('mallory', 'malldev1')
  expect(await mallory.update('two/meta', malloryDevice.register('two'))).toBe('ack')
  return { server, alice, mallory, malloryDevice }
}

const code = (answer: 'ack' | { code: string }) => (answer === 'ack' ? 'ack' : answer.code)

describe('a device belongs to one user everywhere, and gives no rights before it is registered', () => {
  it('refuses a connection that announces a device another user used first', async () => {
    const { server } = await setup()
    const squatter = await TestClient.open(server.url)
    squatter.send({ type: 'auth', token: 't-mallory', device: 'alicedev1' })
    expect(await squatter.next((f) => f.type === 'error')).toMatchObject({ code: 'auth/denied' })
    expect((await squatter.closed).code).toBe(4401)
    // The same holds on /y/ with ?device=.
    const ws = new WebSocket(`${server.url}/y/two/meta?token=t-mallory&device=alicedev1`)
    expect(await new Promise((resolve) => ws.on('close', (c) => resolve(c)))).toBe(4401)
  })

  it('refuses the four squatting moves in a conversation alice has not joined yet', async () => {
    const { server, mallory } = await setup()
    const control = laneDoc('two', 'control')
    const lane = laneDoc('two')
    const header = { author: 'alice', device: 'alicedev1', stamp: stamp(), priority: 'normal' }
    const m = () => new Device('mallory', 'malldev1')
    // 1. Pre-tombstones of alice's next ids, under mallory's device key or alice's.
    for (const key of ['alicedev1.1/malldev1', 'alicedev1.2/alicedev1']) {
      const tombstone = m().change(control, (d) =>
        d.getMap('c').set(key, { stamp: stamp(), deleted: true, header }),
      )
      expect(code(await mallory.update(control, tombstone))).toBe('permission/denied')
    }
    // 2. A forged receipt: bob's message "read by alice".
    const receipts = laneDoc('two', 'receipts')
    const read = { bobdev01: [[1, 1]] }
    const receipt = m().change(receipts, (d) =>
      d.getMap('r').set('alicedev1', { held: read, read, at: stamp() }),
    )
    expect(code(await mallory.update(receipts, receipt))).toBe('permission/denied')
    // 3. A squatted message key, as alice or as mallory.
    for (const author of ['alice', 'mallory']) {
      const squat = m().change(lane, (d) =>
        d.getMap('m').set('alicedev1.1', { ...header, author, body: 'squatted' }),
      )
      expect(code(await mallory.update(lane, squat))).toBe('permission/denied')
    }
    // 4. Alice's device mapped to mallory.
    const devices = m().change('two/meta', (d) => d.getMap('devices').set('alicedev1', 'mallory'))
    expect(code(await mallory.update('two/meta', devices))).toBe('permission/denied')

    // Alice joins later: registers, and her first message arrives whole.
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await alice.subscribe('two')
    const device = new Device('alice', 'alicedev1')
    expect(await alice.update('two/meta', device.register('two'))).toBe('ack')
    const message = device.message(lane, 'hello')
    expect(message.id).toBe('alicedev1.1')
    expect(await alice.update(lane, message.update)).toBe('ack')
    expect((await storedDoc(server.storage, lane)).getMap('m').get('alicedev1.1')).toMatchObject({
      author: 'alice',
      body: 'hello',
    })
    expect((await storedDoc(server.storage, control)).getMap('c').size).toBe(0)
    expect((await storedDoc(server.storage, 'two/meta')).getMap('devices').toJSON()).toEqual({
      malldev1: 'mallory',
      alicedev1: 'alice',
    })
  })

  it('refuses a device’s own writes until it registered in the conversation', async () => {
    const { server } = await setup()
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    await alice.subscribe('three')
    const device = new Device('alice', 'alicedev1')
    const lane = laneDoc('three')
    const early = device.message(lane, 'too early')
    expect(code(await alice.update(lane, early.update))).toBe('permission/denied')
    expect(await alice.update('three/meta', device.register('three'))).toBe('ack')
    expect(await alice.update(lane, device.fresh().message(lane, 'now').update)).toBe('ack')
  })

  it('gives a /y/ connection without a device no rights over unregistered devices', async () => {
    const { server } = await setup()
    const control = laneDoc('two', 'control')
    const lane = laneDoc('two')
    const receipts = laneDoc('two', 'receipts')
    const header = { author: 'mallory', device: 'alicedev1', stamp: stamp(), priority: 'normal' }
    const write = (fn: (d: Y.Doc) => void) => {
      const doc = new Y.Doc()
      fn(doc)
      return Y.encodeStateAsUpdate(doc)
    }
    await yWrite(
      server.url,
      'two/meta',
      write((d) => d.getMap('devices').set('alicedev1', 'mallory')),
    )
    await yWrite(
      server.url,
      control,
      write((d) => d.getMap('c').set('alicedev1.1/alicedev1', { stamp: stamp(), deleted: true, header })),
    )
    const read = { bobdev01: [[1, 1]] }
    await yWrite(
      server.url,
      receipts,
      write((d) => d.getMap('r').set('alicedev1', { held: read, read, at: stamp() })),
    )
    await yWrite(
      server.url,
      lane,
      write((d) => d.getMap('m').set('alicedev1.1', { ...header, body: 'x' })),
    )
    await server.idle()
    expect((await storedDoc(server.storage, 'two/meta')).getMap('devices').get('alicedev1')).toBeUndefined()
    for (const [doc, map] of [
      [control, 'c'],
      [receipts, 'r'],
      [lane, 'm'],
    ] as const)
      expect((await storedDoc(server.storage, doc)).getMap(map).size).toBe(0)
  })
})

/** A stock y-websocket exchange on `/y/<doc>` as mallory, without a device: sends `update`, waits for the server to handle it. */
const yWrite = async (url: string, doc: string, update: Uint8Array): Promise<void> => {
  const ws = new WebSocket(`${url}/y/${doc}?token=t-mallory`)
  ws.binaryType = 'nodebuffer'
  // [messageSync, step 2]: the answer to our step 1, which the server handles after our update.
  const answered = new Promise<void>((resolve) =>
    ws.on('message', (data: Buffer) => {
      if (data[0] === 0 && data[1] === 1) resolve()
    }),
  )
  await new Promise((resolve) => ws.once('open', resolve))
  const sync = (kind: number, payload: Uint8Array) => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 0)
    encoding.writeVarUint(e, kind)
    encoding.writeVarUint8Array(e, payload)
    return encoding.toUint8Array(e)
  }
  ws.send(sync(2, update))
  ws.send(sync(0, Y.encodeStateVector(new Y.Doc())))
  await answered
  ws.close()
}
