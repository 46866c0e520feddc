import { describe, expect, it } from 'vitest'
import { assertConverged, ConvergenceError, createSimulatedNetwork } from '../src/index.js'

describe('simulated network', () => {
  it('runs the README example: skewed devices, a bad link, partitions, a crash', async () => {
    const net = createSimulatedNetwork({ seed: 7 })
    const alice = await net.device('alice')
    const phone = await net.device('alice', { skewMs: -30_000 })
    const bob = await net.device('bob', { skewMs: 86_400_000 })
    net.link(alice, { latencyMs: [5, 200], loss: 0.05, duplicate: 0.05, reorder: 8, bytesPerSecond: 32_000 })
    const room = await alice.client.open('room')
    for (let i = 0; i < 20; i++) await room.send({ text: `hello ${i}` })
    net.partition(alice, bob)
    net.partition(alice, 'server', { oneWay: true })
    await (await bob.client.open('room')).send({ text: 'from bob' })
    net.heal()
    await net.crash(phone)
    await net.restart(phone)
    net.advance(3_600_000)
    await net.settle()
    await assertConverged(net, 'room')
    const seen = (await phone.client.open('room')).messages()
    expect(seen).toHaveLength(21)
    expect(seen.filter((m) => m.status === 'pending')).toEqual([])
    await net.close()
  })

  it('names the message, field and devices that differ, with the seed', async () => {
    const net = createSimulatedNetwork({ seed: 3 })
    const alice = await net.device('alice')
    const bob = await net.device('bob')
    net.partition(alice, 'server')
    await (await alice.client.open('room')).send({ text: 'unseen' })
    await net.settle()
    const error = await assertConverged(net, 'room').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConvergenceError)
    const message = (error as Error).message
    expect(message).toMatch(/present: alice#1 true \| bob#1 false/)
    expect(message).toMatch(/seed: 3/)
    expect(message).toMatch(/partition alice#1 server/)
    expect(bob.name).toBe('bob#1')
    await net.close()
  })
})
