// Server rendering runs in Node, without a DOM.
import { type Client, createClient, loopbackHub } from '@tidings/core'
import {
  useConnection,
  useConversation,
  useMessages,
  usePresence,
  useStatus,
  useUnread,
} from '@tidings/react'
import { renderToString } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { untouchableStorage } from './helpers.js'

function Page({ client }: { client: Client }) {
  const convo = useConversation(client, 'room')
  const messages = useMessages(convo)
  const status = useStatus(convo, 'AAAAAAAAAAAAAAAAAAAAAA.1')
  const link = useConnection(client)
  const unread = useUnread(client)
  const online = usePresence(convo)
  return (
    <main>
      <p>{convo ? 'open' : 'opening'}</p>
      <p>{`${messages.length} messages, status ${status ?? 'none'}`}</p>
      <p>{`link ${link}, ${unread.length} conversations, ${online.length} online`}</p>
    </main>
  )
}

describe('server rendering', () => {
  it('renders the empty state and never touches storage or the link', async () => {
    const { storage, touched } = untouchableStorage()
    const hub = loopbackHub()
    const client = createClient({ user: 'alice', storage, transport: hub.transport() })
    const html = renderToString(<Page client={client} />)
    expect(html).toContain('opening')
    expect(html).toContain('0 messages, status none')
    expect(html).toContain('link offline, 0 conversations, 0 online')
    // Nothing started later either (an effect or a promise would run by now).
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(touched).toEqual([])
    expect(client.connection).toBe('offline')
  })

  it('the same storage is touched once the client opens: the check above can fail', async () => {
    const { storage, touched } = untouchableStorage()
    const client = createClient({ user: 'alice', storage })
    await expect(client.open('room')).rejects.toThrow(/storage\.\w+ was called/)
    expect(touched.length).toBeGreaterThan(0)
  })
})
