// @vitest-environment happy-dom
import { act, cleanup, render, screen } from '@testing-library/react'
import type { Conversation } from '@tidings/core'
import { usePresence } from '@tidings/react'
import { afterEach, describe, expect, it } from 'vitest'
import { countNotifications, twoClients, until } from './helpers.js'

// Without vitest globals, testing-library cannot set this up itself (nor cleanup, done below).
;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true
afterEach(cleanup)

function Online({ convo, renders }: { convo: Conversation | undefined; renders: string[] }) {
  const peers = usePresence(convo)
  const shown = peers.map((p) => `${p.user}${p.self ? '*' : ''}${p.typing ? '+' : ''}`).join(' ')
  renders.push(shown)
  return <p>{`online ${shown || 'nobody'}`}</p>
}

describe('usePresence', () => {
  it('shows who is online and typing, and re-renders for nothing else', async () => {
    const { alice, bob, links, close } = twoClients()
    const renders: string[] = []
    const view = render(<Online convo={undefined} renders={renders} />)
    expect(screen.getByText('online nobody')).toBeTruthy()

    const [a, b] = await act(() => Promise.all([alice.open('room'), bob.open('room')]))
    view.rerender(<Online convo={a} renders={renders} />)
    await screen.findByText('online alice* bob')
    await act(async () => b.setPresence({ typing: true }))
    await screen.findByText('online alice* bob+')

    // A message changes the conversation, not its presence: no render.
    await act(() => Promise.all([alice.whenSynced(), bob.whenSynced()]))
    const settled = renders.length
    const notified = countNotifications(a)
    await act(async () => {
      await b.send('hello')
      await until(() => a.messages().length === 1, 'hello at alice')
      await Promise.all([alice.whenSynced(), bob.whenSynced()])
    })
    expect(notified.count).toBeGreaterThan(0)
    expect(renders.length).toBe(settled)

    // Bob's link drops: the hub removes his presence.
    await act(async () => links.bob.disconnect())
    await screen.findByText('online alice*')
    for (let i = 1; i < renders.length; i++) expect(renders[i], `render ${i}`).not.toBe(renders[i - 1])
    await act(() => close())
  })
})
