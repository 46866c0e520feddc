import { fromBase64 } from 'lib0/buffer'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { type Conversation, type ConversationId, loopbackHub } from '../src/index.js'
import { device, manualTime } from './helpers.js'

const DAY = 24 * 60 * 60 * 1000

/** Every byte a conversation would sync and export, as text: freed content must not be in it. */
const exported = async (c: Conversation): Promise<string> => {
  let text = ''
  for await (const line of c.export()) {
    const record = JSON.parse(line) as { update?: string }
    if (record.update) text += new TextDecoder().decode(fromBase64(record.update))
  }
  return text
}

const pinsOf = (c: Conversation) => c.pins().map((p) => [p.id, p.author, p.body, p.pinnedBy])

describe('pins from a raw peer (no server)', () => {
  it('never shows a snapshot that does not match the message, nor a pin of an id never sent', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const alice = device(hub, 'alice', time)
    const bob = device(hub, 'bob', time)
    const [a, b] = await Promise.all([alice.client.open('room'), bob.client.open('room')])
    const m = await a.send('the contract')
    await hub.flush()
    const aliceDevice = alice.client.device!
    const header = { author: 'alice', device: aliceDevice, stamp: m.stamp, priority: 'normal' }
    const never = `${aliceDevice}.99`
    // Mallory writes meta straight into the hub, as any Yjs peer can.
    const forged = new Y.Doc()
    forged.transact(() => {
      forged.getMap('devices').set('mallory1', 'mallory')
      const pins = forged.getMap('pins')
      // The old format, which named its pinner in the value.
      pins.set(m.id, { header, body: 'FORGED old', stamp: m.stamp, pinnedBy: 'alice' })
      // A wrong body under Mallory's own key, and under Alice's device key.
      pins.set(`${m.id}/mallory1`, { header, body: 'FORGED body', stamp: m.stamp })
      pins.set(`${m.id}/${aliceDevice}`, { header, body: 'FORGED as alice', stamp: m.stamp })
      // The right body with a made-up edit stamp: no such edit exists.
      pins.set(`${m.id}/bobdev99`, {
        header,
        body: 'the contract',
        stamp: { wall: m.stamp.wall + 5, counter: 0 },
      })
      // A message Alice never sent, stamped in the period both have loaded.
      pins.set(`${never}/mallory1`, {
        header: { ...header, stamp: { wall: m.stamp.wall + 1, counter: 0 } },
        body: 'FORGED never sent',
        stamp: { wall: m.stamp.wall + 1, counter: 0 },
      })
    })
    const raw = hub.transport()
    raw.connect({ user: 'mallory', device: 'mallory1' as never })
    raw.send({
      conversation: 'room' as ConversationId,
      doc: 'room/meta',
      lane: 'meta',
      update: Y.encodeStateAsUpdate(forged),
    })
    await hub.flush()
    for (const c of [a, b]) expect(pinsOf(c)).toEqual([])
    // A genuine pin still shows, named after the device that wrote it.
    await b.pin(m.id)
    await hub.flush()
    for (const c of [a, b]) expect(pinsOf(c)).toEqual([[m.id, 'alice', 'the contract', 'bob']])
    await Promise.all([alice.client.close(), bob.client.close()])
  })
})

describe('pins racing deletes and edits', () => {
  it('a delete frees every copy: a pin made concurrently, the other device’s edit, its pin copy', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const phone = device(hub, 'alice', time)
    const laptop = device(hub, 'alice', time)
    const bob = device(hub, 'bob', time)
    const carol = device(hub, 'carol', time)
    const all = [phone, laptop, bob, carol]
    const [p, l, b, c] = (await Promise.all(all.map((d) => d.client.open('room')))) as [
      Conversation,
      Conversation,
      Conversation,
      Conversation,
    ]
    const m = await p.send('secret v1')
    await hub.flush()
    await c.pin(m.id)
    await hub.flush()
    time.advance(10)
    await l.edit(m.id, 'laptop text')
    await hub.flush()
    expect(pinsOf(b)).toEqual([[m.id, 'alice', 'laptop text', 'carol']])
    // Bob pins offline while the phone deletes.
    bob.offline()
    await b.pin(m.id)
    await p.delete(m.id)
    await hub.flush()
    bob.online()
    await hub.flush()
    for (const conversation of [p, l, b, c]) {
      expect(conversation.pins()).toEqual([])
      expect(conversation.messages().map((x) => [x.id, x.body, x.deleted])).toEqual([[m.id, null, true]])
      const bytes = await exported(conversation)
      expect(bytes).not.toContain('secret v1')
      expect(bytes).not.toContain('laptop text')
    }
    await Promise.all(all.map((d) => d.client.close()))
  })

  it('a pin made while the author edits offline follows the edit, also after retention', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const alice = device(hub, 'alice', time, { periodMs: DAY })
    const bob = device(hub, 'bob', time, { periodMs: DAY })
    const carol = device(hub, 'carol', time, { periodMs: DAY })
    const all = [alice, bob, carol]
    const [a, b, c] = (await Promise.all(all.map((d) => d.client.open('room')))) as [
      Conversation,
      Conversation,
      Conversation,
    ]
    const m = await a.send('v1')
    await a.send('w1')
    await hub.flush()
    // Alice edits m offline while Bob pins it; she comes back and sees the pin.
    alice.offline()
    time.advance(10)
    await a.edit(m.id, 'v2')
    await b.pin(m.id)
    await hub.flush()
    alice.online()
    await hub.flush()
    for (const x of [a, b, c]) {
      expect(x.messages().map((y) => y.body)).toEqual(['v2', 'w1'])
      expect(pinsOf(x)).toEqual([[m.id, 'alice', 'v2', 'bob']])
    }
    time.advance(3 * DAY)
    await b.setRetainedFrom(time.now() - DAY)
    await hub.flush()
    for (const x of [a, b, c]) {
      expect(x.messages()).toEqual([])
      // Alice's copy of her edit in meta outlives the period with the pin.
      expect(pinsOf(x)).toEqual([[m.id, 'alice', 'v2', 'bob']])
    }
    await Promise.all(all.map((d) => d.client.close()))
  })

  it('shows an edit stamped before its message (a clock ahead by more than the drift) like messages() does', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const fast = device(hub, 'alice', time, { clock: { now: () => time.now() + 60_001 } })
    const laptop = device(hub, 'alice', time)
    const bob = device(hub, 'bob', time)
    const all = [fast, laptop, bob]
    const [f, l, b] = (await Promise.all(all.map((d) => d.client.open('room')))) as [
      Conversation,
      Conversation,
      Conversation,
    ]
    const m = await f.send('original')
    await hub.flush()
    await l.edit(m.id, 'edited')
    await b.pin(m.id)
    await hub.flush()
    for (const x of [f, l, b]) {
      expect(x.messages().map((y) => y.body)).toEqual(['edited'])
      expect(pinsOf(x)).toEqual([[m.id, 'alice', 'edited', 'bob']])
    }
    await Promise.all(all.map((d) => d.client.close()))
  })
})
