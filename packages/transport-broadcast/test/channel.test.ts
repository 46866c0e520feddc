import { isTidingsError, type TidingsError } from '@tidings/core'
import { afterEach, describe, expect, it } from 'vitest'
import {
  attached,
  closeWorld,
  ids,
  leaderRoom,
  leads,
  openTab,
  texts,
  type World,
  waitFor,
  world,
} from './helpers.js'

let w: World
afterEach(async () => {
  await closeWorld(w)
})

describe('the channel between tabs', () => {
  it('sends a call posted twice to one leader once, and answers both', async () => {
    w = world()
    const one = await openTab(w)
    await leads(one)
    const two = await openTab(w)
    await attached(two, one)
    const posted: Record<string, unknown>[] = []
    two.channels.state.drop = (m) => {
      if (m.t === 'call') posted.push(m)
      return false
    }
    await two.room.send('once')
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

  it('ignores malformed channel messages on both sides', async () => {
    w = world()
    const one = await openTab(w)
    await leads(one)
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
    const m = await two.room.send('still working')
    expect(texts(await leaderRoom(one))).toEqual(['still working'])
    expect(ids(two.room)).toEqual([m.id])
    raw.close()
  })
})
