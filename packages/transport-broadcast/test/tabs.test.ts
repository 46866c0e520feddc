import { type Conversation, isTidingsError, type Message, parseMessageId } from '@tidings/core'
import { afterEach, describe, expect, it } from 'vitest'
import {
  attached,
  bob,
  closeWorld,
  ids,
  leaderRoom,
  leads,
  openTab,
  type Tab,
  texts,
  type World,
  waitFor,
  world,
} from './helpers.js'

let w: World
afterEach(async () => {
  await closeWorld(w)
})

/** The app: the same code in every tab, written against a plain client. */
const app = async (tab: Tab, n: number) => {
  const room = tab.room
  const hello = await room.send({ text: `hello from tab ${n}` }, { priority: n === 1 ? 'urgent' : 'normal' })
  await room.edit(hello.id, { text: `hello from tab ${n}, edited` })
  const oops = await room.send(`oops ${n}`)
  await room.delete(oops.id)
  return hello
}

/** Every message's status as one tab's room reports it. */
const statuses = (room: Conversation) => room.messages().map((m) => `${m.id}:${room.status(m.id)}`)
const pendingIds = (room: Conversation) => room.pending().map((m) => m.id)

/** Three tabs, the first leading, all attached to it. */
const threeTabs = async () => {
  const one = await openTab(w)
  await leads(one)
  const two = await openTab(w)
  const three = await openTab(w)
  await Promise.all([one, two, three].map((tab) => attached(tab, one)))
  return [one, two, three] as const
}

/** Waits until every tab shows what the leader's real client shows, statuses included. */
const agree = async (tabs: readonly Tab[], lead: Conversation) => {
  const same = (room: Conversation) =>
    JSON.stringify([texts(room), statuses(room), pendingIds(room)]) ===
    JSON.stringify([texts(lead), statuses(lead), pendingIds(lead)])
  await waitFor(() => tabs.every((tab) => same(tab.room)), 'every tab to agree with the leader')
}

describe('one API in every tab', () => {
  it('the same app code runs in three tabs: sends, edits, deletes, pins and reads agree with the leader', async () => {
    w = world()
    const tabs = await threeTabs()
    const [one, two, three] = tabs
    const b = await bob(w).open('room')

    const hellos = await Promise.all(tabs.map((tab, i) => app(tab, i + 1)))
    // Resolved: committed by the leader, and already in the tab's own view.
    for (const [i, tab] of tabs.entries()) expect(ids(tab.room)).toContain(hellos[i]!.id)
    const device = one.server!.client.device
    expect(hellos.map((m) => m.device)).toEqual([device, device, device])

    const reply = await b.send('On it', { replyTo: hellos[1]!.id })
    await waitFor(() => tabs.every((tab) => ids(tab.room).includes(reply.id)), 'the reply in every tab')
    await two.room.pin(hellos[0]!.id)
    await three.room.markRead(reply.id)
    await waitFor(() => b.status(reply.id) === 'read', 'bob sees his reply read')
    expect(b.readBy(reply.id)).toEqual(['alice'])
    await waitFor(() => tabs.every((tab) => tab.room.status(hellos[2]!.id) === 'delivered'), 'delivered')
    await b.markRead(reply.id)

    const lead = await leaderRoom(one)
    await waitFor(() => lead.status(hellos[2]!.id) === 'read', 'bob to have read them')
    await agree(tabs, lead)
    // The tabs ran side by side: their messages interleave, each tab's in its own order.
    const shown = texts(lead).map((t) => JSON.stringify(t))
    expect(shown.filter((t) => t === '"<deleted>"')).toHaveLength(3)
    expect(shown.filter((t) => t !== '"<deleted>"').sort()).toEqual([
      '"On it"',
      '{"text":"hello from tab 1, edited"}',
      '{"text":"hello from tab 2, edited"}',
      '{"text":"hello from tab 3, edited"}',
    ])
    expect(ids(b)).toEqual(ids(lead))
    for (const tab of tabs) {
      expect(tab.room.pins().map((p) => p.id)).toEqual([hellos[0]!.id])
      expect(tab.room.unreadIds()).toEqual([])
      expect(tab.client.connection).toBe(one.server!.client.connection)
    }
    // Only the leader's device wrote, and nothing shows there were tabs.
    const authors = new Set(b.messages().flatMap((m) => (m.author === 'alice' ? [m.device] : [])))
    expect(authors).toEqual(new Set([device]))
  })

  it("shows the leader's outbox and link in every tab until the server acknowledges", async () => {
    w = world()
    const tabs = await threeTabs()
    const [one, two] = tabs
    await waitFor(() => tabs.every((t) => t.client.connection === 'online'), 'the leader online everywhere')

    one.link!.disconnect()
    await waitFor(() => tabs.every((t) => t.client.connection === 'offline'), 'the leader offline everywhere')
    const urgent = await two.room.send('urgent, offline', { priority: 'urgent' })
    const normal = await one.room.send('normal, offline')
    // Resolved with the leader's status already: no tab shows `sent` before `pending`.
    expect([urgent.status, normal.status]).toEqual(['pending', 'pending'])
    const lead = await leaderRoom(one)
    expect(pendingIds(lead)).toEqual([urgent.id, normal.id])
    await agree(tabs, lead)
    for (const tab of tabs) expect(tab.room.status(normal.id)).toBe('pending')

    one.link!.connect({ user: 'alice', device: one.server!.client.device! })
    await waitFor(() => lead.pending().length === 0, 'the leader acknowledged')
    await agree(tabs, lead)
    for (const tab of tabs) {
      expect(tab.room.status(urgent.id)).toBe('sent')
      expect(tab.room.pending()).toEqual([])
    }
    await waitFor(() => tabs.every((t) => t.client.connection === 'online'), 'online again everywhere')
    await two.client.whenSynced()
  })

  it('the leader closes mid-backlog: the next tab takes over, nothing is lost, no id is minted twice', async () => {
    w = world()
    const [one, two, three] = await threeTabs()
    one.link!.disconnect()
    const before = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => two.room.send(`two ${i}`)),
      ...Array.from({ length: 10 }, (_, i) => three.room.send(`three ${i}`, { priority: 'urgent' })),
    ])
    // More sends on the way while the leading tab closes: answered by it, or made by the next.
    const during = Array.from({ length: 10 }, (_, i) => three.room.send(`during ${i}`))
    await one.close()
    const after = await Promise.all([...during, two.room.send('after')])
    expect(two.server, 'tab two took over').toBeDefined()
    await attached(three, two)

    const sent = [...before, ...after]
    const b = await bob(w).open('room')
    await waitFor(() => b.messages().length === sent.length, 'bob to receive the whole backlog')
    const want = sent.map((m) => m.id).sort()
    expect(ids(b).sort()).toEqual(want)
    expect(new Set(want).size).toBe(sent.length)
    // One device, and its seqs dense: no seq was taken twice or skipped across the leader change.
    expect(new Set(sent.map((m) => m.device)).size).toBe(1)
    const seqs = sent.map((m) => parseMessageId(m.id)!.seq).sort((a, b) => a - b)
    expect(seqs).toEqual(Array.from({ length: sent.length }, (_, i) => i + 1))
    await agree([two, three], await leaderRoom(two))
    expect(two.room.pending()).toEqual([])
  })

  it('a send while no tab leads waits, and resolves once one is elected', async () => {
    w = world()
    // Another context holds the lock without serving (a tab still starting): nobody leads yet.
    let release!: () => void
    void w.locks.request('tidings-tab:alice-store', {}, () => new Promise<void>((r) => (release = r)))
    const one = await openTab(w)
    const two = await openTab(w)
    let settled = false
    const sending = [one.room.send('from one'), two.room.send('from two')]
    void Promise.allSettled(sending).then(() => {
      settled = true
    })
    await waitFor(() => two.client.connection === 'connecting', 'tab two to look for a leader')
    expect(settled).toBe(false)
    expect(one.transport.leader).toBeUndefined()

    release()
    await leads(one)
    const [a, b] = await Promise.all(sending)
    expect([a!.device, b!.device]).toEqual([one.server!.client.device, one.server!.client.device])
    expect(texts(await leaderRoom(one)).sort()).toEqual(['from one', 'from two'])
    expect(texts(two.room).sort()).toEqual(['from one', 'from two'])
  })

  it('retries a send whose leader died before answering, and never sends it twice', async () => {
    w = world()
    const [one, two, three] = await threeTabs()
    // Tab one commits the send but dies before its answer leaves.
    one.channels.state.drop = (m) => m.t === 'result'
    const sending = three.room.send('exactly once')
    const lead = await leaderRoom(one)
    await waitFor(() => lead.messages().length === 1, 'the old leader to commit it')
    await one.crash()

    const sent = await sending
    expect(two.server, 'tab two took over').toBeDefined()
    const after = await leaderRoom(two)
    expect(texts(after)).toEqual(['exactly once'])
    expect(after.messages()[0]!.id).toBe(sent.id)
    expect(texts(three.room)).toEqual(['exactly once'])

    // A send the dead leader never saw is made by the new one, once.
    await three.room.send('and this one too')
    expect(texts(after)).toEqual(['exactly once', 'and this one too'])
  })

  it('a call to a leader that died silently goes to the next leader', async () => {
    w = world()
    const one = await openTab(w)
    await leads(one)
    const two = await openTab(w)
    await attached(two, one)
    await one.crash()
    await leads(two)
    const three = await openTab(w)
    await attached(three, two)
    await two.crash()
    const m: Message = await three.room.send('queued')
    expect(three.server).toBeDefined()
    expect(texts(three.room)).toEqual(['queued'])
    expect(m.device).toBe(three.server!.client.device)
  })
})

describe('errors reach the tab that wrote', () => {
  it("as the leader's TidingsError, with its code", async () => {
    w = world()
    const [one, two] = await threeTabs()
    const b = await bob(w).open('room')
    const theirs = await b.send('not yours')
    await waitFor(() => ids(two.room).includes(theirs.id), 'bob’s message in tab two')
    await expect(two.room.edit(theirs.id, 'mine now')).rejects.toMatchObject({ code: 'permission/denied' })

    // The leader's storage fails: its client refuses the write, and the tab hears why.
    one.storage!.kill()
    const error = await two.room.send('lost?').catch((e: unknown) => e)
    expect(isTidingsError(error, 'storage/closed')).toBe(true)
  })

  it('a tab signed in as another user follows no leader of that user, and its writes are refused', async () => {
    w = world()
    const one = await openTab(w)
    await leads(one)
    const mallory = await openTab(w, 'mallory')
    await waitFor(() => mallory.errors.length > 0, "the foreign leader's report")
    expect(mallory.errors[0]).toMatchObject({ code: 'permission/denied' })
    const error = await mallory.room.send('as alice?').catch((e: unknown) => e)
    expect(isTidingsError(error, 'permission/denied')).toBe(true)
    expect(mallory.transport.leader).toBeUndefined()
    await one.room.send('for alice only')
    expect(mallory.room.messages()).toEqual([])
    expect(texts(await leaderRoom(one))).toEqual(['for alice only'])
  })

  it('setRetainedFrom in a tab is made by the leader, for every tab', async () => {
    w = world()
    const [one, two] = await threeTabs()
    await two.room.setRetainedFrom(1)
    expect((await leaderRoom(one)).retainedFrom).toBe(1)
    await waitFor(() => one.room.retainedFrom === 1, 'the leading tab follows')
    expect(two.errors).toEqual([])
  })
})
