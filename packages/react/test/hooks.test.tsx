// @vitest-environment happy-dom
import { act, cleanup, render, screen } from '@testing-library/react'
import type { Client, Conversation, Message } from '@tidings/core'
import { useConversation, useMessages, useStatus } from '@tidings/react'
import { Component, type ReactNode } from 'react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { countNotifications, twoClients, until } from './helpers.js'

// Without vitest globals, testing-library cannot set this up itself (nor cleanup, done below).
;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true
afterEach(cleanup)

type Rendered = { convo: Conversation | undefined; messages: readonly Message[] }

function Room({ client, id, renders }: { client: Client; id: string | undefined; renders: Rendered[] }) {
  const convo = useConversation(client, id)
  const messages = useMessages(convo)
  renders.push({ convo, messages })
  if (!convo) return <p>opening</p>
  return (
    <ul aria-label={convo.id}>
      {messages.map((m) => (
        <li key={m.id}>{`${String(m.body)} ${m.status}`}</li>
      ))}
    </ul>
  )
}

function StatusOf({ convo, id, renders }: { convo: Conversation; id: string; renders: unknown[] }) {
  const status = useStatus(convo, id)
  renders.push(status)
  return <p>{`status ${status ?? 'unknown'}`}</p>
}

class Boundary extends Component<{ children: ReactNode }, { error?: unknown }> {
  override state: { error?: unknown } = {}
  static getDerivedStateFromError(error: unknown) {
    return { error }
  }
  override render() {
    if (this.state.error) return <p>{`failed ${(this.state.error as { code?: string }).code}`}</p>
    return this.props.children
  }
}

const sameItems = (a: readonly unknown[], b: readonly unknown[]) =>
  a.length === b.length && a.every((x, i) => x === b[i])

/** No two renders for the same conversation showed the same messages: none was wasted. */
const expectNoWastedRender = (renders: Rendered[]) => {
  for (let i = 1; i < renders.length; i++) {
    const [before, after] = [renders[i - 1]!, renders[i]!]
    if (before.convo && before.convo === after.convo)
      expect(sameItems(before.messages, after.messages), `render ${i} repeats render ${i - 1}`).toBe(false)
  }
}

describe('useConversation and useMessages', () => {
  it('show the messages as they come, and re-render for nothing else', async () => {
    const { alice, bob, close } = twoClients()
    const renders: Rendered[] = []
    render(<Room client={alice} id="room" renders={renders} />)
    expect(screen.getByText('opening')).toBeTruthy()
    await screen.findByRole('list', { name: 'room' })
    // The same promise the hook awaited: the conversation it shows.
    const a = await alice.open('room')
    expect(renders.at(-1)?.convo).toBe(a)
    const notified = countNotifications(a)

    const [b, aSide, bSide] = await act(() =>
      Promise.all([bob.open('room'), alice.open('side'), bob.open('side')]),
    )
    const hello = await act(() => b.send('hello'))
    await screen.findByText(/^hello /)
    await act(() => Promise.all([alice.whenSynced(), bob.whenSynced()]))
    const settled = renders.length

    // A message in another conversation of the same client.
    await act(async () => {
      await bSide.send('elsewhere')
      await until(() => aSide.messages().length === 1, 'side message at alice')
    })
    expect(renders.length).toBe(settled)

    // Bob reads his own message: his receipt reaches alice's conversation and changes none of its messages.
    const before = notified.count
    await act(async () => {
      await b.markRead(hello.id)
      await until(() => notified.count > before, "bob's receipt at alice")
      await Promise.all([alice.whenSynced(), bob.whenSynced()])
    })
    expect(renders.length).toBe(settled)

    // Alice reading it does change what she sees: its status.
    await act(() => a.markRead(hello.id))
    await screen.findByText('hello read')
    expect(renders.length).toBe(settled + 1)

    expectNoWastedRender(renders)
    await act(() => close())
  })

  it('returns undefined for no id, switches with the id, and throws a failed open to an error boundary', async () => {
    const { alice, bob, close } = twoClients()
    const renders: Rendered[] = []
    const view = render(<Room client={alice} id={undefined} renders={renders} />)
    expect(screen.getByText('opening')).toBeTruthy()
    expect(renders.every((r) => r.convo === undefined && r.messages.length === 0)).toBe(true)
    view.rerender(<Room client={alice} id="one" renders={renders} />)
    await screen.findByRole('list', { name: 'one' })
    view.rerender(<Room client={alice} id="two" renders={renders} />)
    // Never the conversation of the previous id under the new one.
    expect(screen.getByText('opening')).toBeTruthy()
    await screen.findByRole('list', { name: 'two' })
    expect(renders.every((r) => r.convo === undefined || r.convo.id === 'one' || r.convo.id === 'two')).toBe(
      true,
    )

    await act(() => bob.close())
    // React reports an error its boundary caught on console.error; this one is expected.
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    render(
      <Boundary>
        <Room client={bob} id="room" renders={[]} />
      </Boundary>,
    )
    await screen.findByText('failed client/closed')
    logged.mockRestore()
    await act(() => close())
  })
})

describe('useStatus', () => {
  it('follows a message from pending to read, one render per change', async () => {
    const { alice, bob, links, close } = twoClients()
    const [a, b] = await act(() => Promise.all([alice.open('room'), bob.open('room')]))
    await act(() => Promise.all([alice.whenSynced(), bob.whenSynced()]))
    links.alice.disconnect()
    const m = await act(() => a.send('hi'))
    const notified = countNotifications(a)
    const renders: unknown[] = []
    render(<StatusOf convo={a} id={m.id} renders={renders} />)
    expect(screen.getByText('status pending')).toBeTruthy()

    await act(() => links.alice.connect({ user: 'alice', device: alice.device! }))
    await screen.findByText('status delivered', {}, { timeout: 5000 })
    await act(async () => {
      await until(() => b.messages().length === 1, 'hi at bob')
      await b.markRead(m.id)
    })
    await screen.findByText('status read')
    await act(() => Promise.all([alice.whenSynced(), bob.whenSynced()]))

    // Another message changes the conversation, not this status: no render.
    const settled = renders.length
    const before = notified.count
    await act(async () => {
      await b.send('another')
      await until(() => a.messages().length === 2, 'another at alice')
      await Promise.all([alice.whenSynced(), bob.whenSynced()])
    })
    expect(notified.count).toBeGreaterThan(before)
    expect(renders.length).toBe(settled)

    for (let i = 1; i < renders.length; i++) expect(renders[i]).not.toBe(renders[i - 1])
    expect(renders[0]).toBe('pending')
    expect(renders.at(-1)).toBe('read')
    await act(() => close())
  })

  it('is undefined for a message not loaded here', async () => {
    const { alice, close } = twoClients()
    const a = await act(() => alice.open('room'))
    render(<StatusOf convo={a} id="AAAAAAAAAAAAAAAAAAAAAA.7" renders={[]} />)
    expect(screen.getByText('status unknown')).toBeTruthy()
    await act(() => close())
  })
})
