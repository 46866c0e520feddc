// Does assertConverged catch replicas that must differ, name the message, the field, the devices
// and the seed, and pass when they agree?
import { createClient, loopbackHub, memoryStorage } from '@tidings/core'
import { assertConverged, ConvergenceError, createSimulatedNetwork } from '@tidings/testing'
import { describe, expect, test } from 'vitest'
import { say, thrown } from './user-helpers.js'

describe('assertConverged catches divergence', () => {
  test('a device partitioned from the server that wrote', async () => {
    const net = createSimulatedNetwork({ seed: 11 })
    const alice = await net.device('alice')
    await net.device('bob')
    net.partition(alice, 'server')
    const m = await say(alice, 'cut off')
    await net.settle()
    const error = await thrown(() => assertConverged(net, 'room'))
    expect(error).toBeInstanceOf(ConvergenceError)
    expect(error?.message).toContain(m.id)
    expect(error?.message).toMatch(/present: alice#1 true \| bob#1 false/)
    expect(error?.message).toContain('seed: 11')
    expect((error as ConvergenceError).seed).toBe(11)
    net.heal()
    await net.settle()
    await assertConverged(net, 'room')
    await net.close()
  })

  test('a device kept offline: bodies, edits, deletes, statuses and readBy each named', async () => {
    const net = createSimulatedNetwork({ seed: 31 })
    const alice = await net.device('alice')
    const bob = await net.device('bob')
    const ca = await alice.client.open('room')
    const cb = await bob.client.open('room')
    const first = await ca.send({ text: 'hi' })
    const second = await ca.send({ text: 'second' })
    await net.settle()
    net.offline(alice)
    await cb.markRead(second.id)
    await ca.edit(first.id, { text: 'hi (edited offline)' })
    await ca.delete(second.id)
    await net.settle()
    const error = (await thrown(() => assertConverged(net, 'room'))) as ConvergenceError
    const fields = error.differences.map((d) => `${d.message} ${d.field}`)
    expect(fields).toEqual(
      expect.arrayContaining([
        `${first.id} body`,
        `${first.id} editedAt`,
        `${first.id} status`,
        `${first.id} readBy`,
        `${second.id} deleted`,
      ]),
    )
    expect(error.message).toMatch(/status: alice#1 "delivered" \| bob#1 "read"/)
    net.online(alice)
    await net.settle()
    await assertConverged(net, 'room')
    await net.close()
  })

  test("unreadIds of one user's devices, pins and retainedFrom are compared", async () => {
    const net = createSimulatedNetwork({ seed: 41 })
    const laptop = await net.device('alice')
    const phone = await net.device('alice')
    const bob = await net.device('bob')
    const m = await say(bob, 'for alice')
    await net.settle()
    net.partition(phone, 'server')
    await (await laptop.client.open('room')).markRead(m.id)
    await net.settle()
    const unread = await thrown(() => assertConverged(net, 'room'))
    expect(unread?.message).toContain(`unreadIds of alice: alice#1 [] | alice#2 ["${m.id}"]`)
    net.heal()
    await net.settle()
    net.offline(laptop)
    await (await laptop.client.open('room')).pin(m.id)
    net.advance(3 * 86_400_000)
    await (await laptop.client.open('room')).setRetainedFrom(net.now - 86_400_000)
    const fields = ((await thrown(() => assertConverged(net, 'room'))) as ConvergenceError).differences.map(
      (d) => d.field,
    )
    expect(fields).toEqual(expect.arrayContaining(['pins', 'retainedFrom']))
    net.online(laptop)
    await net.settle()
    await assertConverged(net, 'room')
    await net.close()
  })

  test('passes when every device has synced', async () => {
    const net = createSimulatedNetwork({ seed: 14 })
    const alice = await net.device('alice')
    await net.device('bob', { skewMs: 86_400_000 })
    await say(alice, 'both')
    await net.settle()
    await assertConverged(net, 'room')
    await net.close()
  })
})

describe('what assertConverged leaves out', () => {
  // Crashed devices are left out until restarted (TSDoc and docs/testing.md say so). A message
  // whose send() resolved on a device that crashed before syncing is on no other replica, and the
  // assertion passes. This pins the documented behaviour so a change is noticed.
  test('a crashed device that wrote and never restarted is not compared', async () => {
    const net = createSimulatedNetwork({ seed: 13 })
    const alice = await net.device('alice')
    const bob = await net.device('bob')
    net.offline(alice)
    await say(alice, 'only on the crashed device')
    await net.crash(alice)
    await net.settle()
    await assertConverged(net, 'room')
    expect((await bob.client.open('room')).messages()).toHaveLength(0)
    await net.close()
  })

  // FINDING (docs / footgun), fixed: a typo in the conversation name passed vacuously. A
  // conversation no replica had open before the call, and of which none holds anything, is now
  // refused with an error that names it.
  test('a conversation nobody had open or wrote to (a typo) is reported, not passed', async () => {
    const net = createSimulatedNetwork({ seed: 15 })
    const alice = await net.device('alice')
    await net.device('bob')
    net.offline(alice)
    await say(alice, 'in room, not in rooom')
    await net.settle()
    await expect(assertConverged(net, 'rooom')).rejects.toThrow(/no replica had "rooom" open/)
    // Opened on one replica before the call, it is a real (if empty) conversation: compared.
    await alice.client.open('lobby')
    await assertConverged(net, 'lobby')
    await net.close()
  })

  // FINDING (docs), fixed in the guide: the replay lists only the network's own steps; the app's
  // sends are not in it unless the app notes them. docs/testing.md now shows `net.note(step)`.
  test('the replay names the app steps noted with net.note()', async () => {
    const net = createSimulatedNetwork({ seed: 16 })
    const alice = await net.device('alice')
    await net.device('bob')
    net.partition(alice, 'server')
    net.note('alice sends "cut off"')
    await say(alice, 'cut off')
    await net.settle()
    const error = await thrown(() => assertConverged(net, 'room'))
    expect(error?.message).toMatch(/partition alice#1 server\n {2}alice sends "cut off"/)
    await net.close()
  })
})

test('a list of plain clients: a client with no link is named in the diff by the name given', async () => {
  const hub = loopbackHub()
  const online = createClient({ user: 'ann', storage: memoryStorage(), transport: hub.transport() })
  const alone = createClient({ user: 'ben', storage: memoryStorage() })
  const m = await (await online.open('room')).send({ text: 'hello' })
  await alone.open('room')
  await online.whenSynced()
  const error = await thrown(() =>
    assertConverged(
      [
        { client: online, name: 'ann-laptop' },
        { client: alone, name: 'ben-phone' },
      ],
      'room',
    ),
  )
  expect(error).toBeInstanceOf(ConvergenceError)
  expect(error?.message).toContain(`message ${m.id}: present: ann-laptop true | ben-phone false`)
  await online.close()
  await alone.close()
})

// FINDING (docs / unhelpful error), fixed: docs/testing.md said assertConverged "accepts any list
// of clients"; it takes `{ client, name? }` objects, and a JS user passing clients got
// "TypeError: Cannot read properties of undefined (reading 'open')". Now a TypeError shows the shape.
test('a list of bare clients is refused with a TypeError that shows the expected shape', async () => {
  const hub = loopbackHub()
  const ann = createClient({ user: 'ann', storage: memoryStorage(), transport: hub.transport() })
  const error = await thrown(() => assertConverged([ann] as unknown as { client: typeof ann }[], 'room'))
  expect(error).toBeInstanceOf(TypeError)
  expect(error?.message).toMatch(/item 0 .*\{ client, name\? \}|\{ client, name\? \}.*item 0/)
  await ann.close()
})
