import type { Conversation } from '@tidings/core'
import { usePresence } from '@tidings/react'

/** Who else has this conversation open, and who is typing. */
export const PresenceBar = ({ convo }: { convo: Conversation }) => {
  const peers = usePresence(convo)
  const others = peers.filter((p) => !p.self)
  const online = [...new Set(others.map((p) => p.user))]
  const typing = [...new Set(others.filter((p) => p.typing).map((p) => p.user))]
  return (
    <div className="presence" data-testid="presence">
      <span data-testid="online">
        {online.length > 0 ? `here: ${online.join(', ')}` : 'nobody else here'}
      </span>
      {typing.length > 0 && (
        <span className="typing" data-testid="typing">
          {typing.join(', ')} {typing.length === 1 ? 'is' : 'are'} typing…
        </span>
      )}
    </div>
  )
}
