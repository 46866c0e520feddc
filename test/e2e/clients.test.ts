import { join } from 'node:path'
import { type Conversation, createClient, type Message, PRIORITIES, type Priority } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { describe, expect, it } from 'vitest'
import { body, converged, device, ids, startServer, statuses, tempDir, waitFor } from './helpers.js'

const MIXED: Priority[] = ['low', 'normal', 'urgent', 'high', 'normal', 'low', 'urgent']

/** Sends one message per priority, in turn, and returns them. */
const sendAll = async (c: Conversation, label: string, priorities = MIXED): Promise<Message[]> => {
  const sent: Message[] = []
  for (const [i, priority] of priorities.entries())
    sent.push(await c.send(body(`${label} ${i}`), { priority }))
  return sent
}

/** The outbox order: urgent first, then by priority, each class in the order written. */
const outboxOrder = (messages: readonly Message[]): string[] =>
  [...messages]
    .map((m, i) => ({ m, i }))
    .sort((x, y) => PRIORITIES.indexOf(x.m.priority) - PRIORITIES.indexOf(y.m.priority) || x.i - y.i)
    .map(({ m }) => m.id)

/** Ids of `mine` in the order `c` displays them. */
const shownOrder = (c: Conversation, mine: readonly Message[]): string[] =>
  ids(c).filter((id) => mine.some((m) => m.id === id))

describe('core clients through a real server', () => {
  it('two clients: online sends arrive; offline sends of mixed priority converge after reconnect', async () => {
    const server = await startServer()
    const alice = device(server.url, 'alice')
    const bob = device(server.url, 'bob')
    const a = await alice.client.open('ops-room')
    const b = await bob.client.open('ops-room')
    await Promise.all([alice.client.whenSynced(), bob.client.whenSynced()])

    const hello = await a.send(body('hello'))
    await waitFor(() => ids(b).includes(hello.id), 'bob receiving hello', { watch: [b] })
    const answer = await b.send(body('answer'), { replyTo: hello.id, priority: 'high' })
    await converged([a, b], 2)

    alice.offline()
    expect(alice.client.connection).toBe('offline')
    const offline = await sendAll(a, 'alice offline')
    expect(offline.map((m) => a.status(m.id))).toEqual(offline.map(() => 'pending'))
    expect(a.pending().map((m) => m.id)).toEqual(outboxOrder(offline))
    const meanwhile = [
      await b.send(body('bob meanwhile')),
      await b.send(body('bob, low'), { priority: 'low' }),
    ]
    await bob.client.whenSynced()
    expect(ids(b)).not.toContain(offline[0]!.id)

    alice.online()
    await alice.client.whenSynced()
    await converged([a, b], 2 + offline.length + meanwhile.length)
    expect(a.pending()).toEqual([])
    // A device's own messages keep their order; a reply sorts after its parent.
    for (const c of [a, b]) expect(shownOrder(c, offline)).toEqual(offline.map((m) => m.id))
    expect(ids(a).indexOf(answer.id)).toBeGreaterThan(ids(a).indexOf(hello.id))
    expect(a.messages().map((m) => m.body)).toEqual(b.messages().map((m) => m.body))
    await waitFor(
      () => statuses(a).every((s) => s === 'delivered') && statuses(b).join() === statuses(a).join(),
      'every message delivered, the same statuses on both replicas',
      { watch: [a, b] },
    )
    expect(server.errors).toEqual([])
  })

  it('statuses move pending → sent → delivered → read; readBy names the readers', async () => {
    const server = await startServer()
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((user) => device(server.url, user)) as [
      ReturnType<typeof device>,
      ReturnType<typeof device>,
      ReturnType<typeof device>,
    ]
    const [a, b, c] = await Promise.all([alice, bob, carol].map((d) => d.client.open('room')))
    if (!a || !b || !c) throw new Error('not opened')
    await Promise.all([alice, bob, carol].map((d) => d.client.whenSynced()))
    // Each says hello first, so every replica knows all three members before statuses are judged.
    for (const x of [a, b, c]) await x.send(body('hello'))
    await converged([a, b, c], 3)

    bob.offline()
    carol.offline()
    let id: string | undefined
    const seen: string[] = []
    // status(id), not messages(): see the known bug at the end of this file.
    const record = () => {
      const status = id === undefined ? undefined : a.status(id)
      if (status && status !== seen.at(-1)) seen.push(status)
    }
    a.subscribe(record)
    const m = await a.send(body('Confirm the contract'), { priority: 'urgent' })
    id = m.id
    record()
    expect(a.status(m.id)).toBe('pending')
    // The server's ack makes it sent; nobody else can hold it yet.
    await alice.client.whenSynced()
    expect(a.status(m.id)).toBe('sent')

    bob.online()
    carol.online()
    await waitFor(() => a.status(m.id) === 'delivered', 'delivered once bob and carol hold it', {
      watch: [a],
    })
    expect(a.readBy(m.id)).toEqual([])

    await b.markRead(m.id)
    await waitFor(() => a.readBy(m.id).join() === 'bob', 'bob in readBy', { watch: [a] })
    expect(a.status(m.id)).toBe('delivered')
    await c.markRead(m.id)
    await waitFor(() => a.status(m.id) === 'read', 'read once carol read it too', { watch: [a] })
    expect(a.readBy(m.id)).toEqual(['bob', 'carol'])
    expect(seen).toEqual(['pending', 'sent', 'delivered', 'read'])

    // Every replica computes the same status and read set from the same receipts.
    await waitFor(
      () => [b, c].every((x) => x.status(m.id) === 'read' && x.readBy(m.id).join() === 'bob,carol'),
      'the same status on every replica',
      { watch: [b, c] },
    )
    expect(server.errors).toEqual([])
  })

  it('three clients: two write offline concurrently, all converge in the same order', async () => {
    const server = await startServer()
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((user) => device(server.url, user)) as [
      ReturnType<typeof device>,
      ReturnType<typeof device>,
      ReturnType<typeof device>,
    ]
    const [a, b, c] = await Promise.all([alice, bob, carol].map((d) => d.client.open('team')))
    if (!a || !b || !c) throw new Error('not opened')
    await Promise.all([alice, bob, carol].map((d) => d.client.whenSynced()))
    for (const x of [a, b, c]) await x.send(body('online'))
    await converged([a, b, c], 3)

    alice.offline()
    bob.offline()
    const [fromAlice, fromBob] = await Promise.all([
      sendAll(a, 'alice'),
      sendAll(b, 'bob', ['urgent', 'normal', 'low', 'high']),
    ])
    const fromCarol = [
      await c.send(body('carol online')),
      await c.send(body('carol'), { priority: 'urgent' }),
    ]
    await carol.client.whenSynced()
    expect(ids(c)).toHaveLength(5)

    alice.online()
    bob.online()
    const total = 3 + fromAlice.length + fromBob.length + fromCarol.length
    await converged([a, b, c], total)
    await Promise.all([alice, bob, carol].map((d) => d.client.whenSynced()))
    for (const x of [a, b, c]) {
      expect(x.pending()).toEqual([])
      expect(shownOrder(x, fromAlice)).toEqual(fromAlice.map((m) => m.id))
      expect(shownOrder(x, fromBob)).toEqual(fromBob.map((m) => m.id))
    }

    const last = ids(c).at(-1)!
    await c.markRead(last)
    await waitFor(
      () =>
        [a, b, c].every((x) => statuses(x).join() === statuses(c).join()) &&
        fromAlice.every((m) => a.readBy(m.id).includes('carol')) &&
        fromBob.every((m) => b.readBy(m.id).includes('carol')),
      'the same statuses everywhere, carol in readBy',
      { watch: [a, b, c] },
    )
    expect(server.errors).toEqual([])
  })

  it('a client restarts from its SQLite file: history, device id and unsent messages survive', async () => {
    const server = await startServer()
    const path = join(tempDir(), 'alice.db')
    const alice = device(server.url, 'alice', { path })
    const bob = device(server.url, 'bob')
    const a = await alice.client.open('room')
    const b = await bob.client.open('room')
    await Promise.all([alice.client.whenSynced(), bob.client.whenSynced()])
    await sendAll(a, 'alice', ['normal', 'urgent'])
    await sendAll(b, 'bob', ['high', 'normal'])
    await converged([a, b], 4)
    const history = ids(a)
    const deviceId = alice.client.device

    alice.offline()
    const unsent = await a.send(body('written offline, then the app quit'), { priority: 'high' })
    await alice.close()
    const whileAway = await b.send(body('while alice was closed'))

    // What the file holds, read with no network at all.
    const offline = createClient({ user: 'alice', storage: sqliteStorage({ path }) })
    const o = await offline.open('room')
    expect(offline.device).toBe(deviceId)
    expect(ids(o)).toEqual([...history, unsent.id])
    expect(o.pending().map((m) => m.id)).toEqual([unsent.id])
    await offline.close()

    const again = device(server.url, 'alice', { path })
    const a2 = await again.client.open('room')
    expect(again.client.device).toBe(deviceId)
    expect(ids(a2).slice(0, history.length)).toEqual(history)
    await again.client.whenSynced()
    await converged([a2, b], history.length + 2)
    expect(ids(a2)).toContain(whileAway.id)
    await waitFor(
      () => a2.status(unsent.id) === 'delivered',
      'the message written before the quit delivered',
      {
        watch: [a2],
      },
    )
    expect(server.errors).toEqual([])
  })

  it('the server restarts on its SQLite data; clients reconnect and converge', async () => {
    const dataDir = tempDir()
    const first = await startServer({ dataDir })
    const alice = device(first.url, 'alice')
    const bob = device(first.url, 'bob')
    const a = await alice.client.open('room')
    const b = await bob.client.open('room')
    await Promise.all([alice.client.whenSynced(), bob.client.whenSynced()])
    await sendAll(a, 'alice', ['normal', 'low'])
    await sendAll(b, 'bob', ['urgent'])
    await converged([a, b], 3)
    await Promise.all([alice.client.whenSynced(), bob.client.whenSynced()])

    await first.close()
    await waitFor(
      () => alice.client.connection !== 'online' && bob.client.connection !== 'online',
      'both clients noticing the server is gone',
      { watch: [alice.client, bob.client] },
    )
    const during = [
      ...(await sendAll(a, 'alice, server down', ['high', 'normal'])),
      ...(await sendAll(b, 'bob, server down', ['urgent'])),
    ]
    expect(during.map((m) => (m.author === 'alice' ? a : b).status(m.id))).toEqual(
      during.map(() => 'pending'),
    )

    expect(first.errors).toEqual([])
    const second = await startServer({ dataDir, port: first.port })
    await Promise.all([alice.client.whenSynced(), bob.client.whenSynced()])
    await converged([a, b], 3 + during.length)

    // A device that never saw the conversation gets all of it from the restarted server's file.
    const carol = device(second.url, 'carol')
    const c = await carol.client.open('room')
    await carol.client.whenSynced()
    await converged([a, b, c], 3 + during.length)
    await waitFor(
      () => [a, b].every((x) => statuses(x).every((s) => s === 'delivered')),
      'everything delivered to everyone',
      { watch: [a, b] },
    )
    expect(second.errors).toEqual([])
  })
})

describe('snapshots read by listeners', () => {
  // A listener that reads messages() during the commit (useSyncExternalStore does) once cached
  // status 'sent' for a message whose outbox entry did not exist yet.
  it('messages() shows a message just written offline as pending, as status() does', async () => {
    const server = await startServer()
    const alice = device(server.url, 'alice')
    const a = await alice.client.open('room')
    await alice.client.whenSynced()
    alice.offline()
    a.subscribe(() => a.messages())
    const m = await a.send(body('not sent: alice is offline'))
    expect(a.status(m.id)).toBe('pending')
    expect(a.messages().find((x) => x.id === m.id)?.status).toBe('pending')
  })
})
