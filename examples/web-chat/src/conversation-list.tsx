import type { Client } from '@tidings/core'
import { useUnread } from '@tidings/react'
import { ROOMS } from './demo.js'

export const ConversationList = ({
  client,
  selected,
  onSelect,
}: {
  client: Client
  selected: string
  onSelect: (room: string) => void
}) => {
  const unread = useUnread(client)
  return (
    <nav className="rooms" aria-label="conversations">
      {ROOMS.map((room) => {
        const count = unread.find((c) => c.id === room)?.unread ?? 0
        return (
          <button
            type="button"
            className="room"
            key={room}
            data-room={room}
            aria-current={room === selected}
            onClick={() => onSelect(room)}
          >
            # {room}
            {count > 0 && (
              <span className="unread" data-testid={`unread-${room}`}>
                {count}
              </span>
            )}
          </button>
        )
      })}
    </nav>
  )
}
