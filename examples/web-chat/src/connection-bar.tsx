import { useConnection } from '@tidings/react'
import { useSyncExternalStore } from 'react'
import type { Session } from './client.js'

/**
 * The link's state with its reason, and the "offline" switch: it cuts the user's link in this
 * browser, which every tab of the user shares (the leading tab holds it).
 */
export const ConnectionBar = ({ session }: { session: Session }) => {
  const { client, link } = session
  const state = useConnection(client)
  const reason = useSyncExternalStore(link.reason.subscribe, link.reason.get)
  const off = useSyncExternalStore(link.offline.subscribe, link.offline.get)
  const shown = off ? 'switched off' : state === 'online' || state === 'syncing' ? undefined : reason
  return (
    <div className={`connection ${state}`}>
      <span data-testid="connection" data-state={state}>
        {state}
        {shown && <span className="reason"> ({shown})</span>}
      </span>
      <label>
        <input
          type="checkbox"
          checked={off}
          aria-label="offline"
          onChange={(event) => link.offline.set(event.target.checked)}
        />
        offline
      </label>
    </div>
  )
}
