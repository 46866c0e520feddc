import type { Conversation, Message, MessageStatus } from '@tidings/core'
import { useStatus } from '@tidings/react'
import { textOf } from './text.js'
import type { Attempt } from './write-problem.js'

// "cached" is what users call a message kept on the device that the server has not confirmed.
const LABELS: Record<MessageStatus, string> = {
  pending: 'cached',
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  expired: 'expired',
}

const time = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })

export const MessageItem = ({
  convo,
  message: m,
  parent,
  own,
  onAct,
  attempt,
}: {
  convo: Conversation
  message: Message
  parent: Message | undefined
  own: boolean
  onAct: (kind: 'reply' | 'edit', message: Message) => void
  attempt: Attempt
}) => {
  // Undefined only for a message this page no longer holds; the list shows what it holds.
  const status = useStatus(convo, m.id) ?? m.status
  const readBy = status === 'read' || status === 'delivered' ? convo.readBy(m.id) : []
  const pinned = convo.pins().some((p) => p.id === m.id)
  return (
    <li
      className={`message ${m.priority}${own ? ' own' : ''}${m.deleted ? ' deleted' : ''}`}
      data-id={m.id}
      data-priority={m.priority}
      data-status={status}
    >
      {m.replyTo && (
        <div className="reply-to">
          ↪ {parent ? `${parent.author}: ${textOf(parent.body)}` : 'an older message'}
        </div>
      )}
      <div className="line">
        <b className="author">{m.author}</b>
        {m.priority !== 'normal' && <span className="priority">{m.priority}</span>}
        <span className="body">{m.deleted ? 'message deleted' : textOf(m.body)}</span>
        {m.editedAt !== undefined && !m.deleted && <span className="marker">(edited)</span>}
        {pinned && <span className="marker">(pinned)</span>}
      </div>
      <div className="meta">
        <time>{time(m.sentAt)}</time>
        {own && (
          <span className="status" data-testid="status">
            {LABELS[status]}
            {readBy.length > 0 && ` by ${readBy.join(', ')}`}
          </span>
        )}
        {!m.deleted && (
          <span className="actions">
            <button type="button" className="action" onClick={() => onAct('reply', m)}>
              reply
            </button>
            <button
              type="button"
              className="action"
              onClick={() =>
                void (pinned
                  ? attempt('unpin', () => convo.unpin(m.id))
                  : attempt('pin', () => convo.pin(m.id)))
              }
            >
              {pinned ? 'unpin' : 'pin'}
            </button>
            {own && (
              <>
                <button type="button" className="action" onClick={() => onAct('edit', m)}>
                  edit
                </button>
                <button
                  type="button"
                  className="action"
                  onClick={() => void attempt('delete', () => convo.delete(m.id))}
                >
                  delete
                </button>
              </>
            )}
          </span>
        )}
      </div>
    </li>
  )
}
