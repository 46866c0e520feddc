import type { Frame } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import { aliceOfflineMessage, policy, rawSocket, roomSeenBy, startServer, waitFor } from './kit.js'

// Frames pipelined behind `auth` (issue 12's handshake): from a socket whose auth is refused, throws,
// times out, or whose subscription is refused, they must never be applied nor forwarded.
const ROOM = 'pipe-room'

/** Alice's genuine offline message, replayed as auth + subscribe + update without waiting. */
const setup = async (limits = {}) => {
  const auth = policy()
  const { server } = await startServer(auth, limits)
  const alice = await aliceOfflineMessage(server.url, ROOM, 'sent behind auth')
  const frames: Frame[] = [
    { type: 'auth', token: 't-alice', device: alice.deviceId },
    { type: 'subscribe', conversation: ROOM, version: 0 },
    { type: 'update', doc: alice.entry.doc, ref: 7, update: alice.entry.update },
  ]
  const watcher = await roomSeenBy(server.url, 'bob', ROOM)
  const replay = async () => {
    const socket = await rawSocket(server.url)
    for (const frame of frames) socket.send(frame)
    return socket
  }
  const stored = async () => (await roomSeenBy(server.url, 'carol', ROOM)).messages().map((m) => m.id)
  return { auth, server, alice, watcher, replay, stored }
}

describe('frames held behind auth', () => {
  it('control: with a valid token the pipelined update is applied and forwarded', async () => {
    const { alice, watcher, replay, stored } = await setup()
    const socket = await replay()
    await waitFor(() => socket.frames.some((f) => f.type === 'ack'), 'the ack of the pipelined update')
    await waitFor(() => watcher.messages().some((m) => m.id === alice.message.id), 'forwarded', {
      watch: [watcher],
    })
    expect(await stored()).toContain(alice.message.id)
  })

  for (const how of ['refused', 'throws'] as const) {
    it(`auth that ${how === 'refused' ? 'is refused' : 'throws'} after the frames arrived drops them all`, async () => {
      const { auth, alice, watcher, replay, stored } = await setup()
      let open!: () => void
      auth.gate = new Promise((resolve) => {
        open = resolve
      })
      ;(how === 'refused' ? auth.revoked : auth.throwing).add('t-alice')
      const socket = await replay()
      // Let every pipelined frame reach the server while `authenticate` is still pending.
      await new Promise((resolve) => setTimeout(resolve, 200))
      auth.gate = undefined
      open()
      await waitFor(() => socket.closed.code !== undefined, 'the refused socket closed')
      expect(socket.frames.filter((f) => f.type === 'ack' || f.type === 'manifest')).toEqual([])
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(watcher.messages().map((m) => m.id)).not.toContain(alice.message.id)
      expect(await stored()).not.toContain(alice.message.id)
    })
  }

  it('an auth timeout drops the held frames', async () => {
    const { auth, alice, watcher, replay, stored } = await setup({ authTimeoutMs: 300 })
    let open!: () => void
    auth.gate = new Promise((resolve) => {
      open = resolve
    })
    const socket = await replay()
    await waitFor(() => socket.closed.code !== undefined, 'the socket closed for its auth timeout')
    expect(socket.closed.code).toBe(4408)
    // The answer comes late, and says yes: the timed-out connection must not wake up and apply.
    auth.gate = undefined
    open()
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(watcher.messages().map((m) => m.id)).not.toContain(alice.message.id)
    expect(await stored()).not.toContain(alice.message.id)
  })

  it('a refused subscription refuses the update pipelined behind it', async () => {
    const { auth, alice, watcher, replay, stored } = await setup()
    auth.refusedRooms.add(`t-alice ${ROOM}`)
    const socket = await replay()
    await waitFor(
      () => socket.frames.some((f) => f.type === 'error' && f.ref === 7),
      'the pipelined update refused',
    )
    expect(socket.frames.some((f) => f.type === 'ack')).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(watcher.messages().map((m) => m.id)).not.toContain(alice.message.id)
    expect(await stored()).not.toContain(alice.message.id)
  })

  it('a second auth frame pipelined as another user changes nothing the first did not allow', async () => {
    const { auth, alice, watcher, stored, server } = await setup()
    auth.revoked.add('t-alice')
    const socket = await rawSocket(server.url)
    // Mallory authenticates as herself, then pipelines an auth as alice (revoked) and alice's frames.
    socket.send({ type: 'auth', token: 't-mallory', device: 'mallorydev1' })
    socket.send({ type: 'auth', token: 't-alice', device: alice.deviceId })
    socket.send({ type: 'subscribe', conversation: ROOM, version: 0 })
    socket.send({ type: 'update', doc: alice.entry.doc, ref: 9, update: alice.entry.update })
    await waitFor(
      () => socket.closed.code !== undefined || socket.frames.some((f) => f.type === 'error' && f.ref === 9),
      'the replay answered',
    )
    expect(socket.frames.some((f) => f.type === 'ack')).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(watcher.messages().map((m) => m.id)).not.toContain(alice.message.id)
    expect(await stored()).not.toContain(alice.message.id)
  })

  it("a valid token announcing another user's device drops the frames behind it", async () => {
    const { alice, watcher, stored, server } = await setup()
    const socket = await rawSocket(server.url)
    socket.send({ type: 'auth', token: 't-mallory', device: alice.deviceId })
    socket.send({ type: 'subscribe', conversation: ROOM, version: 0 })
    socket.send({ type: 'update', doc: alice.entry.doc, ref: 3, update: alice.entry.update })
    await waitFor(() => socket.closed.code !== undefined, 'the socket closed')
    expect(socket.frames.filter((f) => f.type === 'ack' || f.type === 'manifest')).toEqual([])
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(watcher.messages().map((m) => m.id)).not.toContain(alice.message.id)
    expect(await stored()).not.toContain(alice.message.id)
  })
})
