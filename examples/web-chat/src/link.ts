import type { ConnectionState, TidingsError, Transport, TransportSession } from '@tidings/core'

/** Why the link is in its state, in words a visitor understands. */
export type LinkReason = 'switched off' | 'no network' | 'auth refused' | 'server down' | undefined

/**
 * A transport with an "offline" switch: while switched off it never connects, not even at start,
 * so a page reloaded offline stays offline and keeps its outbox for later.
 */
export interface SwitchableLink extends Transport {
  readonly switchedOff: boolean
  setSwitchedOff(off: boolean): void
  /** Why the link is not online (undefined while it is, or while a first attempt runs). */
  readonly reason: LinkReason
  /** Called with the transport's errors that explain a state (e.g. a refused token). */
  noteError(error: TidingsError): void
  /** Calls `fn` when the switch or the reason changes. */
  onChange(fn: () => void): () => void
}

export const switchable = (inner: Transport, startOff: boolean): SwitchableLink => {
  let session: TransportSession | undefined
  let off = startOff
  let refused = false
  // Set once an attempt failed before the server welcomed it: the server is unreachable.
  let unreachable = false
  let last: ConnectionState = inner.state
  const listeners = new Set<() => void>()
  const changed = () => {
    for (const fn of listeners) fn()
  }
  inner.on('connection', (state) => {
    if (state === 'syncing' || state === 'online') {
      refused = false
      unreachable = false
    } else if (state === 'offline' && last === 'connecting' && !off) unreachable = true
    last = state
    changed()
  })
  const link: SwitchableLink = {
    get state() {
      return inner.state
    },
    get follower() {
      return inner.follower === true
    },
    on: (event, listener) => inner.on(event, listener),
    connect(s) {
      session = s
      if (!off) inner.connect(s)
    },
    disconnect: () => inner.disconnect(),
    subscribe: (conversation, have) => inner.subscribe(conversation, have),
    unsubscribe: (conversation) => inner.unsubscribe(conversation),
    send: (update) => inner.send(update),
    close: () => inner.close(),
    get switchedOff() {
      return off
    },
    setSwitchedOff(value) {
      if (value === off) return
      off = value
      if (off) inner.disconnect()
      else if (session) inner.connect(session)
      changed()
    },
    get reason(): LinkReason {
      if (off) return 'switched off'
      if (inner.state === 'online' || inner.state === 'syncing') return undefined
      if (refused) return 'auth refused'
      if (typeof navigator !== 'undefined' && navigator.onLine === false) return 'no network'
      return unreachable ? 'server down' : undefined
    },
    noteError(error) {
      if (error.code !== 'auth/denied') return
      refused = true
      changed()
    },
    onChange(fn) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
  }
  return link
}
