import type { TidingsError } from '@tidings/core'
import { useState } from 'react'
import { ChatView } from './chat-view.js'
import type { Session } from './client.js'
import { ConnectionBar } from './connection-bar.js'
import { ConversationList } from './conversation-list.js'
import { ROOMS } from './demo.js'
import { SyncProgress } from './sync-progress.js'

export const ChatScreen = ({
  session,
  errors,
  onLogout,
}: {
  session: Session
  errors: readonly TidingsError[]
  onLogout: () => void
}) => {
  const [room, setRoom] = useState<string>(ROOMS[0])
  return (
    <div className="screen">
      <header>
        <strong className="me" data-testid="me">
          {session.user}
        </strong>
        <ConnectionBar session={session} />
        <SyncProgress session={session} />
        <button type="button" className="sign-out" onClick={onLogout}>
          sign out
        </button>
      </header>
      <ConversationList client={session.client} selected={room} onSelect={setRoom} />
      <ChatView key={room} session={session} room={room} />
      {errors.length > 0 && (
        <ul className="errors" aria-label="errors">
          {errors.map((error, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a short log, never reordered
            <li key={i}>
              {error.code}: {error.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
