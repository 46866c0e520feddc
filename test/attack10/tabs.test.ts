import { type Conversation, isTidingsError, type Message, parseMessageId } from '@tidings/core'
import { afterEach, describe, expect, it } from 'vitest'
import { until } from './raw.js'
import {
  attached,
  bob,
  closeWorld,
  leads,
  openTab,
  settles,
  type Tab,
  type World,
  world,
} from './tabs-world.js'

let w: World
afterEach(async () => {
  await closeWorld(w)
})

const threeTabs = async () => {
  const one = await openTab(w)
  await leads(one)
  const two = await openTab(w)
  const three = await openTab(w)
  await Promise.all([attached(two, one), attached(three, one)])
  return [one, two, three] as const
}

/** Every sent message reached bob exactly once, from one device, with dense seqs 1..n. */
const expectExactlyOnce = async (sent: readonly Message[], b: Conversation) => {
  await until(() => b.messages().length >= sent.length, `bob to hold ${sent.length} messages`)
  const want = sent.map((m) => m.id).sort()
  expect(new Set(want).size, 'an id minted twice').toBe(sent.length)
  expect(
    b
      .messages()
      .map((m) => m.id)
      .sort(),
  ).toEqual(want)
  expect(new Set(sent.map((m) => m.device)).size).toBe(1)
  const seqs = sent.map((m) => parseMessageId(m.id)!.seq).sort((x, y) => x - y)
  expect(seqs).toEqual(Array.from({ length: sent.length }, (_, i) => i + 1))
}

const codeOf = async (promise: Promise<unknown>) => {
  const outcome = await settles(promise)
  if (outcome === 'hung') return 'hung'
  if (outcome.ok) return 'resolved'
  return isTidingsError(outcome.error) ? outcome.error.code : `not a TidingsError: ${String(outcome.error)}`
}

describe('tabs under attack', () => {
  it('the leader crashes while two followers send: every send resolves, once, nothing lost', async () => {
    w = world()
    const [one, two, three] = await threeTabs()
    const b = await bob(w).open('room')
    const sends = [
      ...Array.from({ length: 15 }, (_, i) => two.room.send(`two ${i}`)),
      ...Array.from({ length: 15 }, (_, i) => three.room.send(`three ${i}`, { priority: 'urgent' })),
    ]
    await one.crash()
    const outcomes = await Promise.all(sends.map((s) => settles(s, 8000)))
    expect(outcomes.filter((o) => o === 'hung' || !o.ok)).toEqual([])
    const sent = outcomes.map((o) => (o as { value: Message }).value)
    await expectExactlyOnce(sent, b)
    for (const tab of [two, three])
      await until(() => tab.room.messages().length === sent.length, 'the tab view')
  })

  it('leaders close one after another while the last tab keeps sending', async () => {
    w = world()
    const tabs = [await openTab(w)]
    await leads(tabs[0]!)
    for (let i = 0; i < 3; i++) tabs.push(await openTab(w))
    const last = tabs[3]!
    const b = await bob(w).open('room')
    const sends: Promise<Message>[] = []
    for (const leader of tabs.slice(0, 3)) {
      for (let i = 0; i < 5; i++) sends.push(last.room.send(`via ${sends.length}`))
      await leader.close()
    }
    for (let i = 0; i < 5; i++) sends.push(last.room.send(`alone ${i}`))
    const sent = await Promise.all(sends)
    await leads(last)
    await expectExactlyOnce(sent, b)
    // A tab's messages keep their order.
    expect(last.room.messages().map((m) => m.body)).toEqual(sent.map((m) => m.body))
  })

  it('edits, deletes, pins and reads replayed across a leader crash apply once', async () => {
    w = world()
    const [one, two] = await threeTabs()
    const bobClient = bob(w)
    const b = await bobClient.open('room')
    const [m1, m2] = [await two.room.send('to edit'), await two.room.send('to delete')]
    const theirs = await b.send('from bob')
    await until(() => two.room.messages().length === 3, 'bob in tab two')
    const calls = [
      two.room.edit(m1.id, 'edited'),
      two.room.delete(m2.id),
      two.room.pin(m1.id),
      two.room.markRead(theirs.id),
    ]
    await one.crash()
    const outcomes = await Promise.all(calls.map((c) => settles(c, 8000)))
    expect(outcomes.map((o) => o !== 'hung' && o.ok)).toEqual([true, true, true, true])
    await until(
      () => b.pins().length === 1 && b.status(theirs.id) === 'read',
      'bob sees the pin and the read',
    )
    await until(() => b.messages().find((m) => m.id === m1.id)?.body === 'edited', 'the edit')
    expect(b.messages().find((m) => m.id === m2.id)?.deleted).toBe(true)
    expect(b.pins().map((p) => p.id)).toEqual([m1.id])
    expect(b.readBy(theirs.id)).toEqual(['alice'])
  })

  it('statuses, pending and the link agree in the leader and every follower', async () => {
    w = world()
    const tabs = await threeTabs()
    const [one, two, three] = tabs
    one.link!.disconnect()
    await until(() => tabs.every((t) => t.client.connection === 'offline'), 'offline everywhere')
    const m = await three.room.send('offline')
    const lead = await one.transport.server!.client.open('room')
    await until(() => tabs.every((t) => t.room.messages().length === 1), 'the message in every tab')
    for (const tab of tabs)
      expect([tab.room.status(m.id), tab.room.pending().map((p) => p.id)]).toEqual(['pending', [m.id]])
    one.link!.connect({ user: 'alice', device: one.transport.server!.client.device! })
    const b = await bob(w).open('room')
    await until(() => b.messages().length === 1, 'bob has it')
    await b.markRead(m.id)
    await until(() => lead.status(m.id) === 'read', 'read in the leader')
    await until(() => [two, three].every((t) => t.room.status(m.id) === 'read'), 'read in every follower')
    for (const tab of tabs) {
      expect(tab.room.pending()).toEqual([])
      expect(tab.room.readBy(m.id)).toEqual(['bob'])
      expect(tab.client.connection).toBe('online')
    }
  })

  it('refusals reach a follower as TidingsError with their codes', async () => {
    w = world()
    const [, two] = await threeTabs()
    const b = await bob(w).open('room')
    const theirs = await b.send('from bob')
    await until(() => two.room.messages().length === 1, 'bob in tab two')
    expect(await codeOf(two.room.edit(theirs.id, 'hijack'))).toBe('permission/denied')
    expect(await codeOf(two.room.delete(theirs.id))).toBe('permission/denied')
    expect(await codeOf(two.room.edit('zzzz.99', 'x'))).toBe('message/unknown')
    expect(await codeOf(two.room.pin('zzzz.99'))).toBe('message/unknown')
    expect(await codeOf(two.room.send({ big: 'x'.repeat(70 * 1024) }))).toBe('input/too-large')
    expect(b.messages().map((m) => m.body)).toEqual(['from bob'])
  })

  // The README promised a refusal, the call resolved and moved only that tab's view. Now the
  // leader makes it, like every other write: one API in every tab.
  it('setRetainedFrom and import in a follower are made by the leader, for every tab', async () => {
    w = world()
    const [one, two, three] = await threeTabs()
    const lead = await one.transport.server!.client.open('room')
    const old = await one.room.send('old news')
    await until(() => two.room.messages().length === 1, 'tab two shows it')
    const cut = old.sentAt + 1
    await two.room.setRetainedFrom(cut)
    expect(lead.retainedFrom).toBe(cut)
    await until(() => three.room.retainedFrom === cut && one.room.retainedFrom === cut, 'every tab moved')
    // An export read back in a follower lands in the leader's storage, and shows in every tab.
    const source = await one.transport.server!.client.open('source')
    await source.send('carried over')
    let text = ''
    for await (const line of source.export()) text += line
    const copy = await three.client.open('copy')
    expect(await copy.import(text)).toBeGreaterThan(0)
    const leaderCopy = await one.transport.server!.client.open('copy')
    await until(() => leaderCopy.messages().length === 1, "the leader's storage holds the import")
    await until(() => copy.messages().length === 1, 'the importing tab shows it')
  })

  it('a follower that closes with a send in flight settles it', async () => {
    w = world()
    const [, two] = await threeTabs()
    const send = two.room.send('last words')
    await two.close()
    const outcome = await settles(send)
    expect(outcome).not.toBe('hung')
    // Resolved: it was committed; refused: with a code. Never a promise left hanging.
    if (outcome !== 'hung' && !outcome.ok) expect(isTidingsError(outcome.error)).toBe(true)
  })

  it('closing tabs in odd orders: follower, leader, then a fresh tab leads with everything', async () => {
    w = world()
    const [one, two, three] = await threeTabs()
    const sent = [await two.room.send('a'), await three.room.send('b'), await one.room.send('c')]
    await two.close()
    await two.close() // twice: harmless
    await one.close()
    await leads(three)
    const four = await openTab(w)
    await attached(four, three)
    await three.close()
    await leads(four)
    await until(() => four.room.messages().length === 3, 'the fresh leader shows everything')
    expect(four.room.messages().map((m) => m.id)).toEqual(sent.map((m) => m.id))
    const late = await four.room.send('d')
    expect(parseMessageId(late.id)!.seq).toBe(4)
  })

  it("a tab signed in as bob on alice's channel gets errors, and writes nothing", async () => {
    w = world()
    const [one] = await threeTabs()
    let intruder: Tab | undefined
    const opened = await settles(openTab(w, 'bob').then((t) => (intruder = t)))
    expect(opened).not.toBe('hung')
    if (intruder) {
      expect(await codeOf(intruder.room.send('as bob'))).toBe('permission/denied')
      await until(() => intruder!.errors.length > 0, "the leader's refusal reported")
    }
    const lead = await one.transport.server!.client.open('room')
    expect(lead.messages()).toEqual([])
    expect(one.room.messages()).toEqual([])
  })

  it("a tab signed in as bob, refused by alice's leader, is shown none of alice's messages", async () => {
    w = world()
    const [one, two] = await threeTabs()
    const intruder = await openTab(w, 'bob')
    await until(() => intruder.errors.length > 0, "the leader's refusal reported")
    await one.room.send('for alice only')
    await until(() => two.room.messages().length === 1, "alice's tab shows it")
    const three = await openTab(w)
    await until(() => three.room.messages().length === 1, "alice's newest tab shows it")
    // Its subscription was refused: it must not render alice's conversation as bob's.
    expect(intruder.room.messages()).toEqual([])
  })
})

describe('presence in tabs', () => {
  it('a follower cannot claim a user; the device is listed once; closing every tab removes it', async () => {
    w = world()
    const [one, two, three] = await threeTabs()
    const b = await bob(w).open('room')
    expect(() => two.room.setPresence({ user: 'bob' } as never)).toThrow(
      expect.objectContaining({ code: 'input/invalid' }),
    )
    two.room.setPresence({ typing: true })
    three.room.setPresence({ draft: 'x' })
    await until(
      () => b.presence().some((p) => p.user === 'alice' && p.typing && p.state.draft === 'x'),
      'merged entry',
    )
    expect(b.presence().filter((p) => p.user === 'alice')).toHaveLength(1)
    await one.close()
    await leads(two)
    await until(
      () => b.presence().some((p) => p.user === 'alice' && p.state.draft === 'x'),
      'republished by tab two',
    )
    expect(b.presence().filter((p) => p.user === 'alice')).toHaveLength(1)
    await three.close()
    await two.close()
    await until(() => b.presence().every((p) => p.user !== 'alice'), 'alice gone with her last tab')
  })
})
