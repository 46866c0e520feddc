import type { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { type Bucket, Outgoing, PriorityQueue } from '../src/lanes-queue.js'
import { Device, laneDoc, startServer, TestClient } from './helpers.js'

describe('outgoing queue', () => {
  it('sends a frame queued later in a higher bucket before lower frames not yet written', () => {
    const written: string[] = []
    const callbacks: (() => void)[] = []
    const out = new Outgoing(
      {
        send: (data, done) => {
          written.push(new TextDecoder().decode(data))
          callbacks.push(() => done())
        },
      },
      4,
      1 << 20,
      () => {},
    )
    const frame = (text: string) => new TextEncoder().encode(text)
    for (let i = 0; i < 5; i++) out.push('low', frame(`low${i}`))
    // Only the first fits under the high-water mark; the rest wait.
    expect(written).toEqual(['low0'])
    out.push('urgent', frame('urg!'))
    out.push('session', frame('ack!'))
    while (callbacks.length > 0) callbacks.shift()!()
    expect(written).toEqual(['low0', 'ack!', 'urg!', 'low1', 'low2', 'low3', 'low4'])
  })

  it('closes a connection that falls too far behind', () => {
    let overflowed = false
    const out = new Outgoing({ send: () => {} }, 1, 10, () => {
      overflowed = true
    })
    out.push('low', new Uint8Array(5))
    out.push('low', new Uint8Array(8))
    out.push('low', new Uint8Array(8))
    expect(overflowed).toBe(true)
  })

  it('drains buckets in priority order, first in first out within one', () => {
    const queue = new PriorityQueue<string>()
    const pushes: [Bucket, string][] = [
      ['low', 'l1'],
      ['normal', 'n1'],
      ['meta', 'm1'],
      ['low', 'l2'],
      ['urgent', 'u1'],
      ['normal', 'n2'],
    ]
    for (const [bucket, item] of pushes) queue.push(bucket, item)
    expect(queue.drain()).toEqual(['m1', 'u1', 'n1', 'n2', 'l1', 'l2'])
  })
})

describe('forwarding by priority', () => {
  it('writes an urgent update to a slow client before the low backlog queued ahead of it', async () => {
    const server = await startServer({ limits: { framesPerSecond: 5000 } })
    const alice = await TestClient.connect(server.url, 't-alice', 'alicedev1')
    const bob = await TestClient.connect(server.url, 't-bob', 'bobdev01')
    await alice.subscribe('room')
    await bob.subscribe('room')
    const device = new Device('alice', 'alicedev1')
    expect(await alice.update('room/meta', device.register('room'))).toBe('ack')
    const low = laneDoc('room', 'low')
    const urgent = laneDoc('room', 'urgent')
    // Create both docs first so no manifest push interleaves below.
    await alice.update(low, device.message(low, 'first').update)
    await alice.update(urgent, device.message(urgent, 'first').update)
    await bob.next((f) => f.type === 'update' && f.doc === urgent)
    const seen = bob.frames.length

    // Bob stops reading: the kernel buffers fill, then the server's queue holds the rest.
    const socket = (bob.ws as unknown as { _socket: Socket })._socket
    socket.pause()
    const body = 'x'.repeat(32 * 1024)
    const count = 600
    const acks = []
    for (let i = 0; i < count; i++) acks.push(alice.update(low, device.message(low, body).update))
    expect(new Set(await Promise.all(acks))).toEqual(new Set(['ack']))
    expect(await alice.update(urgent, device.message(urgent, 'fire').update)).toBe('ack')
    socket.resume()

    const received = await bob.next((f) => f.type === 'update' && f.doc === urgent, seen)
    const before = bob.frames.slice(seen, bob.frames.indexOf(received)).filter((f) => f.type === 'update')
    // Only what was already in the socket's and the kernel's buffers went ahead of it.
    expect(before.length).toBeLessThan(count / 2)
    await bob.next((_f) => bob.frames.slice(seen).filter((g) => g.type === 'update').length === count + 1)
  })
})
