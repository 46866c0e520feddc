import { useSyncExternalStore } from 'react'
import type { Session } from './client.js'
import { saveOffline } from './session-store.js'
import { useConnection } from './tidings-hooks.js'

/** The link's state with its reason, and the switch that cuts this tab's link. */
export const ConnectionBar = ({ session }: { session: Session }) => {
  const { client, link } = session
  const state = useConnection(client)
  const reason = useSyncExternalStore(
    (fn) => link.onChange(fn),
    () => link.reason,
  )
  const off = useSyncExternalStore(
    (fn) => link.onChange(fn),
    () => link.switchedOff,
  )
  return (
    <div className={`connection ${state}`}>
      <span data-testid="connection" data-state={state}>
        {state}
        {reason && <span className="reason"> ({reason})</span>}
      </span>
      <label>
        <input
          type="checkbox"
          checked={off}
          aria-label="offline"
          onChange={(event) => {
            saveOffline(event.target.checked)
            link.setSwitchedOff(event.target.checked)
          }}
        />
        offline
      </label>
    </div>
  )
}
