import {
  type Conversation,
  type ConversationId,
  type DeviceId,
  type Message,
  parseDocName,
  parseMessageId,
} from '@tidings/core'
import { createSimulatedNetwork } from '@tidings/testing'
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { dumpStorage, member, startServer } from '../../packages/server/test/helpers.js'
import { device, waitFor } from '../e2e/helpers.js'
import { FORGERIES, type Forgery, type Scene } from './forgeries.js'
import { differences, type Views, viewOf, viewsOf } from './forgery-views.js'
import { ROW_TIMEOUT, row, seedCount } from './report.js'

const ROOM = 'room' as ConversationId
const MALLORY = 'mallory1' as DeviceId

/** What both paths measured, for the one printed line. */
const figures: {
  peer?: { refusedByView: number; limits: number; seeds: number }
  server?: { refused: number }
} = {}

/** The honest conversation both paths build: sends, an edit, a pin, a delete, reads. */
interface Honest {
  send(who: 'laptop' | 'bob', text: string): Promise<Message>
  edit(id: string, text: string): Promise<void>
  pin(id: string): Promise<void>
  delete(id: string): Promise<void>
  read(id: string): Promise<void>
  /** Waits until every device shows what was done, with its receipts. */
  settle(): Promise<void>
}

/** Alice's laptop and Bob send, she edits and deletes, Bob pins; her phone and Bob read it all. */
const converse = async (h: Honest) => {
  const edited = await h.send('laptop', 'the contract')
  await h.settle()
  const bobs = await h.send('bob', 'ok')
  await h.settle()
  const deleted = await h.send('laptop', 'a typo')
  await h.settle()
  await h.edit(edited.id, 'the contract, v2')
  await h.pin(edited.id)
  await h.delete(deleted.id)
  await h.settle()
  await h.read(deleted.id)
  await h.settle()
  return { edited, bobs, deleted }
}

const sceneOf = (
  messages: Awaited<ReturnType<typeof converse>>,
  now: number,
  alice: DeviceId,
  bob: DeviceId,
): Scene => ({
  conversation: ROOM,
  now,
  alice,
  bob,
  mallory: MALLORY,
  ...messages,
  nextAlice: `${alice}.${parseMessageId(messages.deleted.id)!.seq + 1}`,
})

/**
 * Without a server: Alice (laptop, phone) and Bob on a simulated network; Mallory, a member, is a
 * raw Yjs peer on the hub and writes `forgery` straight into it. Then Alice's laptop writes again
 * (what a pre-delete aims at) and her phone reads. Returns what each honest device shows.
 */
const peerRun = async (seed: number, forgery?: Forgery): Promise<{ views: Views; sent: string }> => {
  const net = createSimulatedNetwork({ seed })
  const devices = [await net.device('alice'), await net.device('alice'), await net.device('bob')]
  const [laptop, phone, bob] = await Promise.all(devices.map((d) => d.client.open(ROOM)))
  const raw = net.hub.transport()
  raw.connect({ user: 'mallory', device: MALLORY })
  const send = (doc: string, update: Uint8Array) =>
    raw.send({ conversation: ROOM, doc, lane: parseDocName(doc)!.kind, update })
  // Mallory registers her device as a member's client does, in both runs.
  const registration = new Y.Doc()
  registration.getMap('devices').set(MALLORY, 'mallory')
  send(`${ROOM}/meta`, Y.encodeStateAsUpdate(registration))
  const messages = await converse({
    send: (who, text) => (who === 'laptop' ? laptop! : bob!).send(text),
    edit: (id, text) => laptop!.edit(id, text),
    pin: (id) => bob!.pin(id),
    delete: (id) => laptop!.delete(id),
    read: async (id) => {
      for (const c of [phone!, bob!]) await c.markRead(id)
    },
    settle: async () => {
      await net.settle()
      net.advance(1000)
    },
  })
  const scene = sceneOf(messages, net.now, devices[0]!.deviceId, devices[2]!.deviceId)
  for (const write of forgery?.writes(scene, (doc) => net.hub.docs.get(doc)) ?? [])
    send(write.doc, write.update)
  await net.settle()
  net.advance(60_000)
  // A forged seq could stop Alice from sending at all: that is shown too.
  const sent = await laptop!.send('after the forgery').then(
    () => 'sent',
    (error: Error) => `send failed: ${error.message}`,
  )
  await net.settle()
  // The phone reads what it shows last: a pre-delete may have hidden the new message.
  await phone!.markRead(phone!.messages().at(-1)!.id)
  await net.settle()
  const views = await viewsOf(devices, ROOM)
  await net.close()
  return { views, sent }
}

afterAll(() => {
  const { peer, server } = figures
  if (!peer || !server) return
  row(
    'a raw Yjs peer forging ids, pins, pre-deletes',
    `forged changes shown 0 of ${peer.refusedByView} without a server (× ${peer.seeds} seeds, ` +
      'all refused by the view; ' +
      `${peer.limits} more are shown, the documented limits of a serverless peer), ` +
      `0 of ${server.refused} through the server (${server.refused} refused)`,
  )
})

describe('a raw Yjs peer forging ids, pins, pre-deletes', () => {
  it(
    'without a server, the core view shows none of the forgeries its trust rules refuse',
    async () => {
      // Seeds change device ids, clientIDs and the ids forgeries aim at.
      const seeds = seedCount(3)
      const outcomes: { forgery: Forgery; seed: number; shown: string[] }[] = []
      for (let seed = 1; seed <= seeds; seed++) {
        const honest = await peerRun(seed)
        expect(honest.sent).toBe('sent')
        const counts = honest.views.map(({ view }) => [view.messages.length, view.pins.length])
        expect(counts).toEqual([
          [4, 1],
          [4, 1],
          [4, 1],
        ])
        for (const forgery of FORGERIES) {
          const forged = await peerRun(seed, forgery)
          const shown = differences(honest.views, forged.views)
          if (forged.sent !== honest.sent) shown.push(`alice#1 ${forged.sent}`)
          outcomes.push({ forgery, seed, shown })
        }
      }
      const explain = ({ forgery, seed, shown }: (typeof outcomes)[number]) =>
        `${forgery.name} (seed ${seed}): ${shown.join('; ') || 'nothing'}`
      const refusedByView = outcomes.filter((o) => o.forgery.withoutServer === 'refused')
      expect(refusedByView.filter((o) => o.shown.length > 0).map(explain)).toEqual([])
      // The documented limits are shown: the comparison does see what a forgery changes.
      const limits = outcomes.filter((o) => o.forgery.withoutServer === 'shown')
      expect(limits.filter((o) => o.shown.length === 0).map(explain)).toEqual([])
      figures.peer = { refusedByView: refusedByView.length / seeds, limits: limits.length / seeds, seeds }
    },
    ROW_TIMEOUT,
  )
})

describe('a raw Yjs peer forging ids, pins, pre-deletes through the server', () => {
  it('every forgery is refused with an error frame and shown nowhere', async () => {
    const server = await startServer()
    // Mallory is an authenticated member on a raw socket, her device registered in meta.
    const mallory = await member(server.url, 't-mallory', 'mallory', MALLORY)
    const devices = ['alice#1', 'alice#2', 'bob#1'].map((name) => ({
      name,
      ...device(server.url, name.slice(0, name.indexOf('#'))),
    }))
    const convos = await Promise.all(devices.map((d) => d.client.open(ROOM)))
    const [laptop, phone, bob] = convos as [Conversation, Conversation, Conversation]
    const views = () => convos.map((c, i) => viewOf(devices[i]!.client, c))
    let written = 0
    /** Every device shows the same `written` messages, none pending, with the same pins and receipts. */
    const agreed = (extra: () => boolean = () => true) =>
      waitFor(
        () => {
          const [first, ...rest] = views().map((v) => JSON.stringify([v.messages, v.pins]))
          const messages = views()[0]!.messages
          return (
            messages.length === written &&
            messages.every((m) => m.status !== 'pending') &&
            rest.every((v) => v === first) &&
            extra()
          )
        },
        `the honest devices agree on ${written} messages`,
        { watch: convos },
      )
    const messages = await converse({
      send: (who, text) => {
        written++
        return (who === 'laptop' ? laptop : bob).send(text)
      },
      edit: (id, text) => laptop.edit(id, text),
      pin: (id) => bob.pin(id),
      delete: (id) => laptop.delete(id),
      read: async (id) => {
        for (const c of [phone, bob]) await c.markRead(id)
      },
      settle: () => agreed(),
    })
    await agreed(() => views().every((v) => v.unreadIds.length === 0))
    const before = await viewsOf(devices, ROOM)
    await server.idle()
    const stored = await dumpStorage(server.storage, ROOM)

    // What the forger knows: every doc of the conversation, as a sync gives it to any member.
    const states = new Map<string, Uint8Array>()
    for (const { doc } of await server.storage.listDocs(ROOM)) {
      const copy = new Y.Doc()
      await mallory.client.syncStep1(doc, copy)
      states.set(doc, Y.encodeStateAsUpdate(copy))
    }
    const scene = sceneOf(messages, Date.now(), devices[0]!.client.device!, devices[2]!.client.device!)
    const outcomes: { forgery: Forgery; answers: string[] }[] = []
    for (const forgery of FORGERIES) {
      const answers: string[] = []
      for (const write of forgery.writes(scene, (doc) => states.get(doc))) {
        const answer = await mallory.client.update(write.doc, write.update)
        answers.push(answer === 'ack' ? 'ack' : answer.code)
      }
      outcomes.push({ forgery, answers })
    }
    await server.idle()
    expect(await dumpStorage(server.storage, ROOM)).toBe(stored)
    const accepted = outcomes.filter((o) => o.answers.includes('ack'))
    expect(accepted.map((o) => `${o.forgery.name}: ${o.answers.join(', ')}`)).toEqual([])

    // Alice's laptop writes again (what a pre-delete aims at) and her phone reads it.
    const after = await laptop.send('after the forgery')
    written++
    await agreed()
    await phone.markRead(after.id)
    await agreed(() => views().every((v, i) => v.unreadIds.length === (i === 2 ? 1 : 0)))
    const expected: Views = before.map(({ name, view }) => ({
      name,
      view: {
        ...view,
        messages: [
          ...view.messages,
          {
            id: after.id,
            author: 'alice',
            device: after.device,
            body: 'after the forgery',
            priority: 'normal',
            sentAt: after.sentAt,
            replyTo: undefined,
            editedAt: undefined,
            deleted: false,
            status: 'sent',
            readBy: [],
          },
        ],
        ...(name === 'bob#1' ? { unreadIds: [after.id], unread: 1 } : {}),
      },
    }))
    expect(differences(expected, await viewsOf(devices, ROOM))).toEqual([])
    expect(devices.flatMap((d) => d.errors)).toEqual([])
    figures.server = { refused: outcomes.length - accepted.length }
  })
})
