// @vitest-environment happy-dom
import { act, cleanup, render, screen } from '@testing-library/react'
import { type Conversation, createClient, loopbackHub, memoryStorage } from '@tidings/core'
import { createElement as h, StrictMode } from 'react'
import { hydrateRoot } from 'react-dom/client'
import { renderToString } from 'react-dom/server'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { virtualTimers } from '../support/virtual-timers.js'
import { until } from './raw.js'
import { Boundary, Everything, Online, Room, Status } from './react-views.js'

;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true
const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  cleanup()
  await Promise.all(closers.splice(0).map((fn) => fn()))
})

/** Alice and bob on one hub; bob's timers are virtual, so his presence renewals come on demand. */
const pair = () => {
  const hub = loopbackHub()
  const time = virtualTimers()
  const alice = createClient({
    user: 'alice',
    storage: memoryStorage(),
    transport: hub.transport(),
    receiptDelay: 0,
  })
  const bob = createClient({
    user: 'bob',
    storage: memoryStorage(),
    transport: hub.transport(),
    receiptDelay: 0,
    timers: time.timers,
  })
  closers.push(() => Promise.all([alice.close(), bob.close()]))
  return { hub, time, alice, bob }
}

describe('@tidings/react under attack', () => {
  it("usePresence does not re-render for a peer's renewal of an unchanged state", async () => {
    const { hub, time, alice, bob } = pair()
    const [a, b] = await Promise.all([alice.open('room'), bob.open('room')])
    b.setPresence({ mood: 'calm' })
    await hub.flush()
    const renders: unknown[] = []
    render(h(Online, { convo: a, renders }))
    await screen.findByText('online alice bob')
    const settled = renders.length
    const before = a.presence()
    // The client renews every 15 s; two renewals, each flushed to alice.
    for (let i = 0; i < 2; i++) {
      await act(async () => {
        time.advance(15_000)
        await hub.flush()
      })
    }
    expect(a.presence()).toBe(before)
    expect(renders.length).toBe(settled)
  })

  it('usePresence(undefined) returns the same empty array on every render', () => {
    const renders: unknown[] = []
    const view = render(h(Online, { convo: undefined, renders }))
    view.rerender(h(Online, { convo: undefined, renders }))
    view.rerender(h(Online, { convo: undefined, renders }))
    expect(renders.length).toBe(3)
    expect(renders[1]).toBe(renders[0])
    expect(renders[2]).toBe(renders[0])
  })

  it('switching conversation ids quickly never shows another id, and ends on the last', async () => {
    const { alice } = pair()
    const renders: [string, string | undefined][] = []
    const view = render(h(Room, { client: alice, id: 'a', renders }))
    for (const id of ['b', 'c', 'a', 'd']) view.rerender(h(Room, { client: alice, id, renders }))
    await screen.findByText('d:')
    for (const [id, shown] of renders) if (shown !== undefined) expect(shown).toBe(id)
    // A late open of an earlier id must not take the screen back.
    await act(() => Promise.all(['a', 'b', 'c'].map((id) => alice.open(id))))
    expect(screen.getByText('d:')).toBeTruthy()
  })

  it('unmounting while the conversation opens reports nothing, and a remount shows it', async () => {
    const { alice } = pair()
    const errors = vi.spyOn(console, 'error')
    try {
      const renders: [string, string | undefined][] = []
      const view = render(h(Room, { client: alice, id: 'room', renders }))
      view.unmount()
      await act(() => alice.open('room'))
      render(h(Room, { client: alice, id: 'room', renders }))
      await screen.findByText('room:')
      expect(errors).not.toHaveBeenCalled()
    } finally {
      errors.mockRestore()
    }
  })

  it('StrictMode: double effects open one conversation, and the hooks follow sends and statuses', async () => {
    const { hub, alice, bob } = pair()
    const opens = vi.spyOn(alice, 'open')
    render(h(StrictMode, null, h(Everything, { client: alice })))
    const a = await act(() => alice.open('room'))
    await act(() => a.send('hi'))
    await screen.findByText(/^1 (pending|sent|delivered) /)
    await act(async () => {
      await bob.open('room')
      await hub.flush()
      await alice.whenSynced()
    })
    await until(() => a.status(a.messages()[0]!.id) !== 'pending', 'sent')
    await screen.findByText(/^1 (sent|delivered) online 0$/)
    const opened = await Promise.all(opens.mock.results.map((r) => r.value as Promise<Conversation>))
    expect(new Set(opened).size).toBe(1)
  })

  it('useStatus returns undefined for a malformed or foreign id instead of throwing', async () => {
    const { alice } = pair()
    const a = await alice.open('room')
    render(
      h(
        Boundary,
        null,
        h(Status, { convo: a, id: 'not an id at all' }),
        h(Status, { convo: a, id: 'zzzz.0' }),
        h(Status, { convo: a, id: '' }),
      ),
    )
    expect(screen.getAllByText('status none')).toHaveLength(3)
  })

  it('a closed client reaches the error boundary with its code', async () => {
    const { alice } = pair()
    await alice.close()
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    try {
      render(h(Boundary, null, h(Room, { client: alice, id: 'room', renders: [] })))
      await screen.findByText(/^failed /)
      expect(screen.getByText(/^failed /).textContent).toBe('failed client/closed')
    } finally {
      errors.mockRestore()
    }
  })

  it('hydrates server HTML without a mismatch, even when the conversation is already open', async () => {
    const { alice } = pair()
    await alice.open('room')
    const html = renderToString(h(Room, { client: alice, id: 'room', renders: [] }))
    const container = document.createElement('div')
    container.innerHTML = html
    document.body.appendChild(container)
    const recoverable: unknown[] = []
    const root = await act(async () =>
      hydrateRoot(container, h(Room, { client: alice, id: 'room', renders: [] }), {
        onRecoverableError: (error) => recoverable.push(error),
      }),
    )
    await until(() => container.textContent?.trim() === 'room:', 'the open conversation after hydration')
    expect(recoverable).toEqual([])
    act(() => root.unmount())
    container.remove()
  })
})
