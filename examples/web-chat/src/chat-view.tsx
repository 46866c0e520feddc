import type { Message } from '@tidings/core'
import { useConversation, useMessages } from '@tidings/react'
import { useEffect, useMemo, useState } from 'react'
import type { Session } from './client.js'
import { Composer, type Draft } from './composer.js'
import { MessageList } from './message-list.js'
import { PinList } from './pin-list.js'
import { PresenceBar } from './presence-bar.js'
import { attemptWith } from './write-problem.js'

/** One conversation: its pins, messages, who is here, and the composer. */
export const ChatView = ({ session, room }: { session: Session; room: string }) => {
  const convo = useConversation(session.client, room)
  const messages = useMessages(convo)
  const [draft, setDraft] = useState<Draft>({ kind: 'new' })
  // The last refused write's reason, until dismissed or the composer stores something.
  const [problem, setProblem] = useState<string>()
  const attempt = useMemo(() => attemptWith(setProblem), [])

  // What is on screen counts as read while the page is visible (and again when it becomes so).
  useEffect(() => {
    if (!convo) return
    const mark = () => {
      const last = messages.at(-1)
      if (last && document.visibilityState === 'visible' && convo.unreadCount() > 0)
        void attempt('mark as read', () => convo.markRead(last.id))
    }
    mark()
    document.addEventListener('visibilitychange', mark)
    return () => document.removeEventListener('visibilitychange', mark)
  }, [convo, messages, attempt])

  if (!convo) return <main className="chat">Opening #{room}…</main>
  const act = (kind: 'reply' | 'edit', m: Message) => setDraft({ kind, message: m })
  return (
    <main className="chat" data-room={room}>
      <PinList convo={convo} />
      <MessageList convo={convo} messages={messages} self={session.user} onAct={act} attempt={attempt} />
      <PresenceBar convo={convo} />
      {problem && (
        <p className="problem" role="alert">
          {problem}
          <button type="button" onClick={() => setProblem(undefined)}>
            dismiss
          </button>
        </p>
      )}
      <Composer
        convo={convo}
        draft={draft}
        attempt={attempt}
        onDone={() => {
          setDraft({ kind: 'new' })
          setProblem(undefined)
        }}
      />
    </main>
  )
}
