import { createClient, loopbackHub, memoryStorage } from '@tidings/core'
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

describe('assertConverged within', () => {
  const pair = async () => {
    const hub = loopbackHub({ manual: true })
    const clients = ['ann', 'ben'].map((user) =>
      createClient({ user, storage: memoryStorage(), transport: hub.transport() }),
    )
    for (const client of clients) await client.open('room')
    await hub.flush()
    await (await clients[0]!.open('room')).send({ text: 'on its way' })
    return { hub, clients, replicas: clients.map((client) => ({ client })) }
  }

  it('compares again until the replicas agree', async () => {
    const { hub, clients, replicas } = await pair()
    await expect(assertConverged(replicas, 'room')).rejects.toBeInstanceOf(ConvergenceError)
    // The frames arrive while assertConverged retries, as a server's forwarding would.
    const arrive = setTimeout(() => void hub.flush(), 60)
    await assertConverged(replicas, 'room', { within: 5_000 })
    clearTimeout(arrive)
    await Promise.all(clients.map((c) => c.close()))
  })

  it('throws the last difference once the time is up', async () => {
    const { clients, replicas } = await pair()
    const started = Date.now()
    const error = await assertConverged(replicas, 'room', { within: 150 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConvergenceError)
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
    expect((error as Error).message).toMatch(/present: ann#1 true \| ben#2 false/)
    await Promise.all(clients.map((c) => c.close()))
  })
})

describe('restart', () => {
  it('reopens the conversations the device had open when it crashed', async () => {
    const net = createSimulatedNetwork({ seed: 4 })
    const alice = await net.device('alice')
    await (await alice.client.open('side')).send({ text: 'aside' })
    await net.crash(alice)
    const back = await net.restart(alice)
    expect(back.client.conversations().map((c) => c.id)).toEqual(['room', 'side'])
    await net.close()
  })
})

describe('device()', () => {
  it('a refused device() closes the storage its factory opened', async () => {
    const net = createSimulatedNetwork({ seed: 4 })
    const storage = memoryStorage()
    await expect(net.device('', { storage: () => storage })).rejects.toMatchObject({ code: 'input/invalid' })
    await expect(storage.getMeta('device')).rejects.toMatchObject({ code: 'storage/closed' })
    expect(net.devices).toEqual([])
    await net.close()
  })
})
