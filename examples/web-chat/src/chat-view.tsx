import type { Message } from '@tidings/core'
import { useConversation, useMessages } from '@tidings/react'
import { useEffect, useState } from 'react'
import type { Session } from './client.js'
import { Composer, type Draft } from './composer.js'
import { MessageList } from './message-list.js'
import { PinList } from './pin-list.js'
import { PresenceBar } from './presence-bar.js'

/** One conversation: its pins, messages, who is here, and the composer. */
export const ChatView = ({ session, room }: { session: Session; room: string }) => {
  const convo = useConversation(session.client, room)
  const messages = useMessages(convo)
  const [draft, setDraft] = useState<Draft>({ kind: 'new' })

  // What is on screen counts as read while the page is visible (and again when it becomes so).
  useEffect(() => {
    if (!convo) return
    const mark = () => {
      const last = messages.at(-1)
      if (last && document.visibilityState === 'visible' && convo.unreadCount() > 0)
        void convo.markRead(last.id).catch(() => {})
    }
    mark()
    document.addEventListener('visibilitychange', mark)
    return () => document.removeEventListener('visibilitychange', mark)
  }, [convo, messages])

  if (!convo) return <main className="chat">Opening #{room}…</main>
  const act = (kind: 'reply' | 'edit', m: Message) => setDraft({ kind, message: m })
  return (
    <main className="chat" data-room={room}>
      <PinList convo={convo} />
      <MessageList convo={convo} messages={messages} self={session.user} onAct={act} />
      <PresenceBar convo={convo} />
      <Composer convo={convo} draft={draft} onDone={() => setDraft({ kind: 'new' })} />
    </main>
  )
}
