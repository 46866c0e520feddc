import {
  type Conversation,
  conversationId,
  decodeAwareness,
  encodeAwareness,
  type PresencePeer,
} from '@tidings/core'
import { afterEach, describe, expect, it } from 'vitest'
import { PresenceCache } from '../src/presence-cache.js'
import { attached, bob, closeWorld, leads, NAME, openTab, type World, waitFor, world } from './helpers.js'

let w: World
afterEach(async () => {
  await closeWorld(w)
})

/** `user*` for self, `+` while typing, then the app fields. */
const who = (room: Conversation) =>
  room
    .presence()
    .map((p) => `${p.user}${p.self ? '*' : ''}${p.typing ? '+' : ''}${fields(p)}`)
    .join(' ')
const fields = (p: PresencePeer) => (Object.keys(p.state).length > 0 ? JSON.stringify(p.state) : '')
const alices = (room: Conversation) => room.presence().filter((p) => p.user === 'alice')

/** Alice's tab one leading, tab two following it, and bob straight on the network. */
const twoTabsAndBob = async () => {
  const one = await openTab(w)
  await leads(one)
  const two = await openTab(w)
  await attached(two, one)
  const b = await bob(w).open('room')
  await waitFor(() => who(two.room) === 'alice* bob', "bob in alice's follower tab")
  return { one, two, b, device: one.server!.client.device! }
}

describe('presence in every tab', () => {
  it("a follower tab's typing reaches bob as the device's one entry, and bob's reaches every tab", async () => {
    w = world()
    const { one, two, b, device } = await twoTabsAndBob()
    // Self in every tab is the device of the storage, not one per tab.
    for (const tab of [one, two]) expect(tab.room.presence().find((p) => p.self)?.device).toBe(device)
    await waitFor(() => who(b) === 'alice bob*', 'bob to see alice online')

    two.room.setPresence({ typing: true, draft: 'Confirm' })
    expect(who(two.room)).toBe('alice*+{"draft":"Confirm"} bob')
    await waitFor(() => who(b) === 'alice+{"draft":"Confirm"} bob*', 'bob to see alice typing')
    expect(alices(b).map((p) => p.device)).toEqual([device])

    b.setPresence({ typing: true })
    await waitFor(() => who(two.room).endsWith(' bob+'), "bob typing in alice's follower tab")
    await waitFor(() => who(one.room).endsWith(' bob+'), "bob typing in alice's leading tab")

    // Another tab's change edits the same entry: it is the device's, whichever tab set it.
    one.room.setPresence({ typing: false, draft: undefined })
    await waitFor(() => who(b) === 'alice bob*+', "bob to see alice's entry updated by her other tab")
    expect(alices(b).map((p) => p.device)).toEqual([device])
  })

  it('a tab that attaches later lists who is online at once, without waiting for a renewal', async () => {
    w = world()
    const { one, b } = await twoTabsAndBob()
    b.setPresence({ typing: true })
    await waitFor(() => who(one.room) === 'alice* bob+', 'bob typing in the leading tab')
    const three = await openTab(w)
    await attached(three, one)
    // Renewals come every 15 s: only the leader's snapshot can bring bob within this wait.
    await waitFor(() => who(three.room) === 'alice* bob+', 'bob typing in the new tab', 2000)
  })

  it("the leading tab closes: the next leader publishes the device's state again, and bob stays listed", async () => {
    w = world()
    const { one, two, b, device } = await twoTabsAndBob()
    two.room.setPresence({ status: 'away' })
    await waitFor(() => who(b) === 'alice{"status":"away"} bob*', "bob to see alice's status")
    b.setPresence({ mood: 'busy' })
    await waitFor(() => who(two.room) === 'alice*{"status":"away"} bob{"mood":"busy"}', 'bob in tab two')

    await one.close()
    await leads(two)
    // The closed leader's link took its entry away: what bob sees now the new leader published.
    expect(one.link!.state).toBe('offline')
    const away = 'alice{"status":"away"} bob*{"mood":"busy"}'
    await waitFor(() => who(b) === away, 'bob to see alice again after the handover')
    expect(alices(b).map((p) => p.device)).toEqual([device])
    // The new leader's client starts without the state: tab two handed it again after its sync.
    const lead = await two.server!.client.open('room')
    expect(lead.presence().find((p) => p.self)?.state).toEqual({ status: 'away' })
    await waitFor(
      () => who(two.room) === 'alice*{"status":"away"} bob{"mood":"busy"}',
      'bob still listed in tab two',
    )
    two.room.setPresence({ typing: true })
    await waitFor(
      () => who(b) === 'alice+{"status":"away"} bob*{"mood":"busy"}',
      'alice typing via the new leader',
    )
  })

  it('refuses presence posted by a tab signed in as another user, and ignores malformed posts', async () => {
    w = world()
    const { one, two, b } = await twoTabsAndBob()
    await waitFor(() => who(b) === 'alice bob*', 'bob to see alice online')
    const errors: unknown[] = []
    const channel = new BroadcastChannel(`tidings-tabs:${NAME}`)
    channel.addEventListener('message', (event) => {
      if (event.data?.t === 'failed' && event.data.to === 'mallory-tab') errors.push(event.data)
    })
    const post = (message: Record<string, unknown>) =>
      channel.postMessage({ v: 1, from: 'mallory-tab', to: one.server!.id, conversation: 'room', ...message })
    post({ t: 'presence', user: 'alice', state: ['typing'] })
    post({ t: 'presence', user: 'alice', state: { typing: 'yes' } })
    post({ t: 'presence', user: 'mallory', state: { typing: true } })
    await waitFor(() => errors.length === 2, 'both refusals')
    expect(errors).toMatchObject([{ code: 'input/invalid' }, { code: 'permission/denied' }])
    // Nothing changed alice's entry; the tabs still work.
    two.room.setPresence({ typing: true })
    await waitFor(() => who(b) === 'alice+ bob*', 'bob to see alice typing')
    channel.close()
  })
})

describe('PresenceCache', () => {
  it('keeps the newest state per awareness id and leaves out removed and outdated ones', () => {
    let now = 0
    const cache = new PresenceCache(() => now)
    const room = conversationId('room')
    const clients = (update: Uint8Array | undefined) =>
      update ? decodeAwareness(update).map((e) => `${e.client}@${e.clock}`) : []
    expect(cache.apply(room, new Uint8Array([1, 2]))).toBe(false)
    cache.apply(room, encodeAwareness([{ client: 1, clock: 2, state: { user: 'bob' } }]))
    cache.apply(room, encodeAwareness([{ client: 2, clock: 1, state: { user: 'carol' } }]))
    cache.apply(room, encodeAwareness([{ client: 1, clock: 1, state: { user: 'old' } }]))
    expect(clients(cache.snapshot(room))).toEqual(['1@2', '2@1'])
    cache.apply(room, encodeAwareness([{ client: 2, clock: 2, state: null }]))
    // A late state older than the removal does not bring carol back.
    cache.apply(room, encodeAwareness([{ client: 2, clock: 1, state: { user: 'carol' } }]))
    expect(clients(cache.snapshot(room))).toEqual(['1@2'])
    now = 30_000
    expect(cache.snapshot(room)).toBeUndefined()
    cache.apply(room, encodeAwareness([{ client: 1, clock: 3, state: { user: 'bob' } }]))
    expect(clients(cache.snapshot(room))).toEqual(['1@3'])
    cache.clear()
    expect(cache.snapshot(room)).toBeUndefined()
  })
})
