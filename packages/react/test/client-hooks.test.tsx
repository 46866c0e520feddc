// @vitest-environment happy-dom
import { act, cleanup, render, screen } from '@testing-library/react'
import type { Client } from '@tidings/core'
import { useConnection, useUnread } from '@tidings/react'
import { afterEach, describe, expect, it } from 'vitest'
import { countNotifications, twoClients, until } from './helpers.js'

// Without vitest globals, testing-library cannot set this up itself (nor cleanup, done below).
;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true
afterEach(cleanup)

function Connection({ client, renders }: { client: Client; renders: string[] }) {
  const state = useConnection(client)
  renders.push(state)
  return <p>{`link ${state}`}</p>
}

function Unread({ client, renders }: { client: Client; renders: string[] }) {
  const list = useUnread(client).map((c) => `${c.id}:${c.unread}`)
  renders.push(list.join(' '))
  return <p>{`unread ${list.join(' ') || 'none'}`}</p>
}

/** Each render showed something the previous one did not. */
const expectEachRenderNew = (renders: string[]) => {
  for (let i = 1; i < renders.length; i++) expect(renders[i], `render ${i}`).not.toBe(renders[i - 1])
}

describe('useConnection', () => {
  it('follows the link: offline before the first open, online, offline again', async () => {
    const { alice, links, close } = twoClients()
    const renders: string[] = []
    render(<Connection client={alice} renders={renders} />)
    expect(screen.getByText('link offline')).toBeTruthy()
    await act(() => alice.open('room'))
    await screen.findByText('link online')
    await act(async () => links.alice.disconnect())
    await screen.findByText('link offline')
    await act(async () => {
      links.alice.connect({ user: 'alice', device: alice.device! })
      await alice.whenSynced()
    })
    await screen.findByText('link online')
    expectEachRenderNew(renders)
    await act(() => close())
  })
})

describe('useUnread', () => {
  it('shows unread counts per conversation, re-rendering only when one changes', async () => {
    const { alice, bob, close } = twoClients()
    const notified = countNotifications(bob)
    const renders: string[] = []
    render(<Unread client={bob} renders={renders} />)
    expect(screen.getByText('unread none')).toBeTruthy()
    const [a, b] = await act(() => Promise.all([alice.open('room'), bob.open('room'), bob.open('side')]))
    await screen.findByText('unread room:0 side:0')

    const first = await act(() => a.send('one'))
    await act(() => a.send('two'))
    await screen.findByText('unread room:2 side:0')
    // Acks and receipts that follow change no count.
    await act(() => Promise.all([alice.whenSynced(), bob.whenSynced()]))
    const settled = renders.length
    const before = notified.count
    await act(async () => {
      await a.markRead(first.id)
      await until(() => notified.count > before, "alice's receipt at bob")
      await Promise.all([alice.whenSynced(), bob.whenSynced()])
    })
    expect(renders.length).toBe(settled)

    await act(() => b.markRead(first.id))
    await screen.findByText('unread room:1 side:0')
    expectEachRenderNew(renders)
    await act(() => close())
  })
})
