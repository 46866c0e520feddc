import type { Client, Conversation } from '@tidings/core'
import {
  useConnection,
  useConversation,
  useMessages,
  usePresence,
  useStatus,
  useUnread,
} from '@tidings/react'
import { Component, type ReactNode } from 'react'

// Components for react.test.ts (vitest picks up test/**/*.test.ts only, so the JSX lives here).

/** Lists who is online; records every array usePresence gave it. */
export function Online({ convo, renders }: { convo: Conversation | undefined; renders: unknown[] }) {
  const peers = usePresence(convo)
  renders.push(peers)
  return <p>{`online ${peers.map((p) => p.user).join(' ') || 'nobody'}`}</p>
}

/** Opens `id` and shows its messages; records (asked id, shown conversation id) per render. */
export function Room({
  client,
  id,
  renders,
}: {
  client: Client
  id: string
  renders: [string, string | undefined][]
}) {
  const convo = useConversation(client, id)
  const messages = useMessages(convo)
  renders.push([id, convo?.id])
  return <p>{convo ? `${convo.id}: ${messages.map((m) => String(m.body)).join(',')}` : 'opening'}</p>
}

/** Every client and conversation hook at once. */
export function Everything({ client }: { client: Client }) {
  const convo = useConversation(client, 'room')
  const messages = useMessages(convo)
  const status = useStatus(convo, messages[0]?.id ?? 'none.1')
  const link = useConnection(client)
  const unread = useUnread(client)
  return <p>{`${messages.length} ${status ?? '-'} ${link} ${unread.map((u) => u.unread).join()}`}</p>
}

export function Status({ convo, id }: { convo: Conversation; id: string }) {
  return <p>{`status ${useStatus(convo, id) ?? 'none'}`}</p>
}

export class Boundary extends Component<{ children: ReactNode }, { error?: unknown }> {
  override state: { error?: unknown } = {}
  static getDerivedStateFromError(error: unknown) {
    return { error }
  }
  override render() {
    if (this.state.error) return <p>{`failed ${(this.state.error as { code?: string }).code}`}</p>
    return this.props.children
  }
}
