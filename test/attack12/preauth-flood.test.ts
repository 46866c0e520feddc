import { describe, expect, it } from 'vitest'
import { aliceOfflineMessage, policy, rawSocket, roomSeenBy, startServer, waitFor } from './kit.js'

// A flood pipelined behind an `auth` whose answer is slow: the server must stop reading the
// socket past its unauthenticated budget (64 KiB, plus one frame ws buffered), so what the attacker
// wrote stays in the attacker's own buffers, and the flood is dropped when the auth is refused.
const ROOM = 'flood-room'
const FRAME = 900 * 1024
const FRAMES = 40

describe('a flood behind a pending auth', () => {
  it('is not read past the budget, and is dropped when the auth is refused', async () => {
    const auth = policy()
    const { server } = await startServer(auth)
    const alice = await aliceOfflineMessage(server.url, ROOM, 'buried in a flood')
    const watcher = await roomSeenBy(server.url, 'bob', ROOM)
    let open!: () => void
    auth.gate = new Promise((resolve) => {
      open = resolve
    })
    auth.revoked.add('t-alice')
    const socket = await rawSocket(server.url)
    socket.send({ type: 'auth', token: 't-alice', device: alice.deviceId })
    socket.send({ type: 'subscribe', conversation: ROOM, version: 0 })
    socket.send({ type: 'update', doc: alice.entry.doc, ref: 1, update: alice.entry.update })
    for (let i = 0; i < FRAMES; i++) socket.send({ type: 'ping', time: i })
    const junk = new Uint8Array(FRAME).fill(7)
    for (let i = 0; i < FRAMES; i++)
      socket.send({ type: 'update', doc: alice.entry.doc, ref: 2 + i, update: junk })
    const written = FRAMES * FRAME
    // Give the server time to read whatever it is willing to read.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const unread = socket.ws.bufferedAmount
    // Loopback kernel buffers hold a few MiB at most; the rest must still be on the attacker's side.
    expect(unread).toBeGreaterThan(written - 12 * 1024 * 1024)
    auth.gate = undefined
    open()
    await waitFor(() => socket.closed.code !== undefined, 'the refused socket closed')
    expect(socket.frames.filter((f) => f.type === 'ack' || f.type === 'pong')).toEqual([])
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(watcher.messages().map((m) => m.id)).not.toContain(alice.message.id)
  })

  it('a valid auth behind a slow answer still handles the held frames in order, once', async () => {
    const auth = policy()
    const { server } = await startServer(auth)
    const alice = await aliceOfflineMessage(server.url, ROOM, 'held then replayed')
    const watcher = await roomSeenBy(server.url, 'bob', ROOM)
    let open!: () => void
    auth.gate = new Promise((resolve) => {
      open = resolve
    })
    const socket = await rawSocket(server.url)
    socket.send({ type: 'auth', token: 't-alice', device: alice.deviceId })
    socket.send({ type: 'subscribe', conversation: ROOM, version: 0 })
    // The same update three times, and pings between: every ref answered once, pongs in order.
    for (let i = 0; i < 3; i++) {
      socket.send({ type: 'update', doc: alice.entry.doc, ref: 10 + i, update: alice.entry.update })
      socket.send({ type: 'ping', time: i })
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    auth.gate = undefined
    open()
    await waitFor(
      () => socket.frames.filter((f) => f.type === 'pong').length === 3,
      'three pongs after the welcome',
    )
    await waitFor(() => watcher.messages().some((m) => m.id === alice.message.id), 'forwarded', {
      watch: [watcher],
    })
    await waitFor(
      () => socket.frames.flatMap((f) => (f.type === 'ack' ? [...f.refs] : [])).length >= 3,
      'every ref acked',
    )
    const refs = socket.frames.flatMap((f) => (f.type === 'ack' ? [...f.refs] : []))
    expect([...refs].sort()).toEqual([10, 11, 12])
    const types = socket.frames.map((f) => f.type)
    expect(types[0]).toBe('welcome')
    expect(socket.frames.filter((f) => f.type === 'pong').map((f) => f.time)).toEqual([0, 1, 2])
    expect(socket.frames.filter((f) => f.type === 'error')).toEqual([])
  })
})
