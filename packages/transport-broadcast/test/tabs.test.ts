import { type Client, type Conversation, isTidingsError, type TidingsError } from '@tidings/core'
import { afterEach, describe, expect, it } from 'vitest'
import { bob, closeWorld, ids, openTab, type Tab, texts, type World, waitFor, world } from './helpers.js'

let w: World
afterEach(async () => {
  await closeWorld(w)
})

/** Waits until `tab` follows the current leader and is synced with it. */
const attached = (tab: Tab, leader: Tab) =>
  waitFor(
    () => tab.transport.leader === leader.server?.id && tab.transport.state === 'online',
    'the tab to attach to the leader',
  )

const leaderRoom = (tab: Tab): Promise<Conversation> => tab.server!.client.open('room')

const onBob = async (client: Client) => {
  const room = await client.open('room')
  return room
}

describe('tabs of one browser', () => {
  it('a follower reads and writes through the leader, with the leader device id, and converges', async () => {
    w = world()
    const one = await openTab(w)
    await waitFor(() => one.server !== undefined, 'tab one to lead')
    const two = await openTab(w)
    await attached(two, one)
    await attached(one, one)
    expect(two.leader.isLeader).toBe(false)
    const b = await onBob(bob(w))

    const hello = await two.remote.send({ text: 'Confirm the contract' }, { priority: 'urgent' })
    // Resolved: committed by the leader, and already in the follower's own view.
    expect(ids(two.room)).toContain(hello.id)
    const lead = await leaderRoom(one)
    expect(hello.device).toBe(one.server!.client.device)
    expect(lead.messages().map((m) => m.id)).toContain(hello.id)
    await waitFor(() => b.messages().length === 1, 'bob to receive it')

    const reply = await b.send('On it', { replyTo: hello.id })
    await waitFor(() => ids(two.room).includes(reply.id) && ids(one.room).includes(reply.id), 'the reply')
    const second = await two.remote.send('second', { replyTo: reply.id })
    await two.remote.edit(second.id, 'second, edited')
    await two.remote.pin(hello.id)
    await two.remote.markRead(reply.id)
    const gone = await two.remote.send('oops')
    await two.remote.delete(gone.id)

    await waitFor(() => b.status(reply.id) === 'read', 'bob sees his reply read')
    const same = (c: Conversation) => JSON.stringify(texts(c)) === JSON.stringify(texts(lead))
    await waitFor(() => [b, one.room, two.room].every(same), 'everyone to converge')
    for (const tab of [one, two]) {
      expect(ids(tab.room)).toEqual(ids(lead))
      expect(texts(tab.room)).toEqual([
        { text: 'Confirm the contract' },
        'On it',
        'second, edited',
        '<deleted>',
      ])
    }
    expect(ids(b)).toEqual(ids(lead))
    expect(b.pins().map((p) => p.id)).toEqual([hello.id])
    // Only the leader's device wrote: no follower device ever reached the network.
    expect(
      new Set(
        b
          .messages()
          .filter((m) => m.author === 'alice')
          .map((m) => m.device),
      ),
    ).toEqual(new Set([one.server!.client.device]))
  })

  it("shows the leader's outbox as pending in the follower until the server acknowledges it", async () => {
    w = world()
    const one = await openTab(w)
    await waitFor(() => one.server !== undefined, 'tab one to lead')
    const two = await openTab(w)
    await attached(two, one)
    await waitFor(() => two.transport.network === 'online', 'the leader to report its link')

    one.link!.disconnect()
    await waitFor(() => two.transport.network === 'offline', 'the follower to see the leader offline')
    const m = await two.remote.send('written offline')
    await waitFor(() => two.remote.status(m.id) === 'pending', 'pending in the follower')
    expect(two.remote.pendingIds()).toEqual([m.id])

    one.link!.connect({ user: 'alice', device: one.server!.client.device! })
    await waitFor(() => two.remote.status(m.id) !== 'pending', 'acknowledged')
    expect(two.remote.pendingIds()).toEqual([])
  })

  it('the leader closes: the next tab takes over and the others re-attach and keep writing', async () => {
    w = world()
    const one = await openTab(w)
    await waitFor(() => one.server !== undefined, 'tab one to lead')
    const two = await openTab(w)
    const three = await openTab(w)
    await attached(three, one)
    const first = await three.remote.send('before')

    await one.close()
    await waitFor(() => two.server !== undefined, 'tab two to take over')
    await attached(three, two)
    await attached(two, two)
    const second = await three.remote.send('after')
    const third = await two.remote.send('from the new leader tab')

    const b = await onBob(bob(w))
    await waitFor(() => b.messages().length === 3, 'bob to have all three')
    const lead = await leaderRoom(two)
    for (const room of [lead, two.room, three.room, b]) {
      expect(ids(room)).toEqual([first.id, second.id, third.id])
    }
    // One storage, one device: the new leader reads the same device id back.
    expect(new Set(b.messages().map((m) => m.device)).size).toBe(1)
  })

  it('retries a send whose leader died before answering, and never sends it twice', async () => {
    w = world()
    const one = await openTab(w)
    await waitFor(() => one.server !== undefined, 'tab one to lead')
    const two = await openTab(w)
    const three = await openTab(w)
    await attached(three, one)

    // Tab one commits the send but dies before its answer leaves.
    one.channels.state.drop = (m) => m.t === 'result'
    const sending = three.remote.send('exactly once')
    const lead = await leaderRoom(one)
    await waitFor(() => lead.messages().length === 1, 'the old leader to commit it')
    await one.crash()

    const sent = await sending
    expect(two.server, 'tab two took over').toBeDefined()
    const after = await leaderRoom(two)
    expect(texts(after)).toEqual(['exactly once'])
    expect(after.messages()[0]!.id).toBe(sent.id)
    await waitFor(() => texts(three.room).length === 1, 'tab three to show it')
    expect(texts(three.room)).toEqual(['exactly once'])

    // A send the dead leader never saw is made by the new one, once.
    one.channels.state.drop = () => false
    await three.remote.send('and this one too')
    expect(texts(after)).toEqual(['exactly once', 'and this one too'])
  })

  it('sends a call posted twice to one leader once, and answers both', async () => {
    w = world()
    const one = await openTab(w)
    await waitFor(() => one.server !== undefined, 'tab one to lead')
    const two = await openTab(w)
    await attached(two, one)
    const posted: Record<string, unknown>[] = []
    two.channels.state.drop = (m) => {
      if (m.t === 'call') posted.push(m)
      return false
    }
    await two.remote.send('once')
    const raw = new BroadcastChannel('tidings-tabs:alice-store')
    raw.postMessage(posted[0])
    raw.postMessage(posted[0])
    const answers: unknown[] = []
    raw.onmessage = (e) => {
      if ((e.data as { t: string }).t === 'result') answers.push(e.data)
    }
    await waitFor(() => answers.length === 2, 'both answers')
    raw.close()
    expect(texts(await leaderRoom(one))).toEqual(['once'])
  })

  it('a call to a leader that died silently goes to the next leader', async () => {
    w = world()
    const one = await openTab(w)
    await waitFor(() => one.server !== undefined, 'tab one to lead')
    const two = await openTab(w)
    await attached(two, one)
    await one.crash()
    await waitFor(() => two.server !== undefined, 'tab two to take over')
    // Tab two leads now: tab three has nobody else to follow, and it queues behind tab two.
    const three = await openTab(w)
    await attached(three, two)
    await two.crash()
    const waiting = three.remote.send('queued')
    await waitFor(() => three.server !== undefined, 'tab three to lead')
    const m = await waiting
    expect(texts(three.room)).toEqual(['queued'])
    expect(m.device).toBe(three.server!.client.device)
  })
})

describe('what the tabs refuse', () => {
  it('ignores malformed channel messages on both sides', async () => {
    w = world()
    const one = await openTab(w)
    await waitFor(() => one.server !== undefined, 'tab one to lead')
    const two = await openTab(w)
    await attached(two, one)
    const errors: TidingsError[] = []
    two.client.on('error', (e) => errors.push(e))
    const leaderId = one.server!.id
    const to = one.server!.id
    const raw = new BroadcastChannel('tidings-tabs:alice-store')
    const junk: unknown[] = [
      null,
      42,
      'hello',
      [],
      { v: 2, t: 'hello', from: 'x' },
      { v: 1, t: 'hello' },
      { v: 1, t: 'nonsense', from: 'x' },
      { v: 1, t: 'subscribe', from: 'x', to, user: 'alice', conversation: '../etc', have: [] },
      { v: 1, t: 'subscribe', from: 'x', to, user: 'alice', conversation: 'room', have: [{ doc: 'x/meta' }] },
      { v: 1, t: 'call', from: 'x', to, user: 'alice', id: 'c1', conversation: 'room', call: { op: 'rm' } },
      { v: 1, t: 'call', from: 'x', to, user: 'alice', id: 'c2', conversation: 'room', call: null },
      { v: 1, t: 'call', from: 'x', to, user: 'alice', id: 'c3', conversation: 'room', call: { op: 'edit' } },
      {
        v: 1,
        t: 'call',
        from: 'x',
        to,
        user: 'alice',
        id: 'c4',
        conversation: 'room',
        call: { op: 'send', priority: 'max' },
      },
      { v: 1, t: 'leader', from: 'y', network: 'sideways' },
      {
        v: 1,
        t: 'update',
        from: leaderId,
        conversation: 'room',
        doc: 'other/meta',
        update: new Uint8Array(2),
      },
      { v: 1, t: 'update', from: leaderId, conversation: 'room', doc: 'room/meta', update: 'bytes' },
      { v: 1, t: 'result', from: leaderId, to: 'nobody', id: 'x:1', value: { id: 1 } },
      { v: 1, t: 'failed', from: leaderId, to: 'nobody', id: 'x:1', code: 7 },
      { v: 1, t: 'pending', from: leaderId, conversation: 'room', ids: [1, 2] },
      { v: 1, t: 'synced', from: leaderId, conversation: 'room' },
    ]
    for (const message of junk) raw.postMessage(message)
    // Well formed, but bytes that are no Yjs update: core refuses them and reports it.
    raw.postMessage({
      v: 1,
      t: 'update',
      from: leaderId,
      conversation: 'room',
      doc: 'room/normal/1',
      update: new Uint8Array([9, 9, 9]),
    })

    await waitFor(() => errors.some((e) => isTidingsError(e, 'protocol/malformed')), 'the refused update')
    expect(two.transport.leader).toBe(leaderId)
    expect(two.transport.state).toBe('online')
    const m = await two.remote.send('still working')
    expect(texts(await leaderRoom(one))).toEqual(['still working'])
    expect(ids(two.room)).toEqual([m.id])
    raw.close()
  })

  it("refuses writes made on a follower's own client: they would carry a second device id", async () => {
    w = world()
    const one = await openTab(w)
    await waitFor(() => one.server !== undefined, 'tab one to lead')
    const two = await openTab(w)
    await attached(two, one)
    const errors: TidingsError[] = []
    two.client.on('error', (e) => errors.push(e))
    await two.room.send('local only')
    await waitFor(() => errors.length > 0, 'the refusal')
    expect(errors[0]!.code).toBe('permission/denied')
    expect(errors[0]!.message).toMatch(/transport\.remote/)
    expect(two.errors.map((e) => e.code)).toEqual(['permission/denied'])
    expect(texts(await leaderRoom(one))).toEqual([])
  })

  it('refuses a follower tab signed in as another user', async () => {
    w = world()
    const one = await openTab(w)
    await waitFor(() => one.server !== undefined, 'tab one to lead')
    const mallory = await openTab(w, 'mallory')
    await waitFor(() => mallory.transport.leader === one.server!.id, 'mallory to find the leader')
    const error = await mallory.remote.send('as alice?').catch((e: unknown) => e)
    expect(isTidingsError(error, 'permission/denied')).toBe(true)
    await waitFor(() => mallory.errors.length > 0, 'the refused subscription')
    expect(mallory.errors[0]).toMatchObject({ code: 'permission/denied', subject: 'room' })
    expect(mallory.transport.state).toBe('syncing')
    expect(texts(await leaderRoom(one))).toEqual([])
  })
})
