import type { Conversation, Message } from '@tidings/core'
import { useLayoutEffect, useRef, useState } from 'react'
import { MessageItem } from './message-item.js'
import type { Attempt } from './write-problem.js'

/** The loaded window of messages; scrolling to the top loads older periods. */
export const MessageList = ({
  convo,
  messages,
  self,
  onAct,
  attempt,
}: {
  convo: Conversation
  messages: readonly Message[]
  self: string
  onAct: (kind: 'reply' | 'edit', message: Message) => void
  attempt: Attempt
}) => {
  const box = useRef<HTMLOListElement>(null)
  const [older, setOlder] = useState<'idle' | 'loading' | 'none'>('idle')
  // Distance from the bottom before a change: kept after older messages load above, and zero
  // (stuck to the newest) while the reader is at the bottom.
  const fromBottom = useRef(0)

  useLayoutEffect(() => {
    const el = box.current
    if (el && messages.length > 0) el.scrollTop = el.scrollHeight - el.clientHeight - fromBottom.current
  }, [messages])

  const loadOlder = () => {
    if (older !== 'idle') return
    setOlder('loading')
    convo.loadOlder().then(
      (more) => setOlder(more ? 'idle' : 'none'),
      () => setOlder('idle'),
    )
  }
  const onScroll = () => {
    const el = box.current
    if (!el) return
    fromBottom.current = el.scrollHeight - el.clientHeight - el.scrollTop
    if (el.scrollTop <= 40) loadOlder()
  }

  const byId = new Map(messages.map((m) => [m.id, m]))
  return (
    <ol className="messages" ref={box} onScroll={onScroll} aria-label="messages">
      <li className="older">
        {older === 'loading'
          ? 'loading older messages…'
          : older === 'none'
            ? 'beginning of the conversation'
            : ''}
      </li>
      {messages.map((m) => (
        <MessageItem
          key={m.id}
          convo={convo}
          message={m}
          parent={m.replyTo ? byId.get(m.replyTo) : undefined}
          own={m.author === self}
          onAct={onAct}
          attempt={attempt}
        />
      ))}
    </ol>
  )
}
