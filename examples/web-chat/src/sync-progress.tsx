import type { Conversation } from '@tidings/core'
import { useConnection } from '@tidings/react'
import { useEffect, useState } from 'react'
import type { Session } from './client.js'
import { ROOMS } from './demo.js'

/**
 * What core tells about a sync in progress, and nothing it does not: how many of the open
 * conversations finished their initial exchange since the link came up, and how many messages of
 * this device still wait for the server's acknowledgement.
 */
export const SyncProgress = ({ session }: { session: Session }) => {
  const { client, transport } = session
  const state = useConnection(client)
  const [synced, setSynced] = useState<ReadonlySet<string>>(new Set())
  const [unsent, setUnsent] = useState(0)

  useEffect(() => {
    const stopSynced = transport.on('synced', ({ conversation }) =>
      setSynced((s) => new Set(s).add(conversation)),
    )
    // A new link starts its initial exchanges over.
    const stopState = transport.on('connection', (s) => s === 'connecting' && setSynced(new Set()))
    return () => {
      stopSynced()
      stopState()
    }
  }, [transport])

  useEffect(() => {
    let live = true
    const stops: (() => void)[] = []
    void Promise.all(ROOMS.map((room) => client.open(room))).then(
      (convos: Conversation[]) => {
        if (!live) return
        const count = () => setUnsent(convos.reduce((n, c) => n + c.pending().length, 0))
        for (const c of convos) stops.push(c.subscribe(count))
        count()
      },
      // A client closed meanwhile (signed out): nothing left to count.
      () => {},
    )
    return () => {
      live = false
      for (const stop of stops) stop()
    }
  }, [client])

  const syncing = state === 'syncing'
  if (!syncing && unsent === 0) return null
  return (
    <div className="progress" data-testid="sync-progress">
      {syncing && (
        <>
          syncing: {synced.size} of {ROOMS.length} conversations
          <progress max={ROOMS.length} value={synced.size} />
        </>
      )}
      {unsent > 0 && <span> {unsent} cached, not yet on the server</span>}
    </div>
  )
}
