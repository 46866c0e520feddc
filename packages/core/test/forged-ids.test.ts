import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { type ConversationId, docAt, loopbackHub, parseMessageId } from '../src/index.js'
import { device, manualTime } from './helpers.js'

describe('messages a raw peer forges under ids the view refuses (no server)', () => {
  it('count nowhere: not unread, and they do not move the next id of the device they name', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const alice = device(hub, 'alice', time)
    const bob = device(hub, 'bob', time)
    const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    const m = await a.send('hello')
    await hub.flush()
    const aliceDevice = alice.client.device!
    const forged = (author: string, device: string) => ({
      author,
      device,
      stamp: { wall: time.now(), counter: 0 },
      body: 'FORGED',
      priority: 'normal',
    })
    // Mallory registers her device, then writes keys whose device meta gives to another user.
    const doc = new Y.Doc()
    doc.getMap('devices').set('mallory1', 'mallory')
    const lane = new Y.Doc()
    lane.getMap('m').set(`${aliceDevice}.77`, forged('mallory', aliceDevice))
    lane.getMap('m').set(`${aliceDevice}.${Number.MAX_SAFE_INTEGER}`, forged('mallory', aliceDevice))
    lane.getMap('m').set('mallory1.1', forged('alice', 'mallory1'))
    const raw = hub.transport()
    raw.connect({ user: 'mallory', device: 'mallory1' as never })
    const room = 'room' as ConversationId
    raw.send({ conversation: room, doc: 'room/meta', lane: 'meta', update: Y.encodeStateAsUpdate(doc) })
    await hub.flush()
    raw.send({
      conversation: room,
      doc: docAt(room, 'normal', time.now(), 7 * 24 * 60 * 60 * 1000),
      lane: 'normal',
      update: Y.encodeStateAsUpdate(lane),
    })
    await hub.flush()
    for (const c of [a, b]) expect(c.messages().map((x) => x.id)).toEqual([m.id])
    expect(a.unreadIds()).toEqual([])
    expect(b.unreadIds()).toEqual([m.id])
    expect(alice.client.conversations()).toEqual([{ id: 'room', unread: 0 }])
    // Alice's next message takes the next seq of her own: a forged key is not one she holds.
    time.advance(1000)
    expect((await a.send('still me')).id).toBe(`${aliceDevice}.2`)
    await hub.flush()
    expect(b.messages().map((x) => x.body)).toEqual(['hello', 'still me'])
    await Promise.all([alice.client.close(), bob.client.close()])
  })

  it('a key under the device itself at seq 2^53-1 (a forged message, shown) does not stop its sends', async () => {
    // Writing as Alice's device is a documented limit without a server: the forged message shows.
    // Its seq must not become hers, though: 2^53 is no id, and ranges of seqs stop growing there.
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const alice = device(hub, 'alice', time)
    const bob = device(hub, 'bob', time)
    const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    await a.send('hello')
    await hub.flush()
    const aliceDevice = alice.client.device!
    const lane = new Y.Doc()
    lane.getMap('m').set(`${aliceDevice}.${Number.MAX_SAFE_INTEGER}`, {
      author: 'alice',
      device: aliceDevice,
      stamp: { wall: time.now(), counter: 0 },
      body: 'FORGED',
      priority: 'normal',
    })
    const raw = hub.transport()
    raw.connect({ user: 'mallory', device: 'mallory1' as never })
    const room = 'room' as ConversationId
    const doc = docAt(room, 'normal', time.now(), 7 * 24 * 60 * 60 * 1000)
    raw.send({ conversation: room, doc, lane: 'normal', update: Y.encodeStateAsUpdate(lane) })
    await hub.flush()
    time.advance(1000)
    const sent = await a.send('still me').then(
      (m) => m.id as string,
      (error: Error) => `${error.name}: ${error.message}`,
    )
    expect(parseMessageId(sent)?.device, sent).toBe(aliceDevice)
    await hub.flush()
    expect(b.messages().map((x) => x.body)).toEqual(['hello', 'FORGED', 'still me'])
    await Promise.all([alice.client.close(), bob.client.close()])
  })
})
