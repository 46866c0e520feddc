import type { ConnectionState, TidingsError, Transport, TransportSession } from '@tidings/core'
import { sharedValue } from './shared-value.js'

/** Why the link is in its state, in words a visitor understands. */
export type LinkReason = 'switched off' | 'no network' | 'auth refused' | 'server down'

/**
 * The user's link in this browser, shared by all their tabs: the "offline" switch any tab flips,
 * and the reason the leading tab's network link gives for its state.
 */
export interface LinkControls {
  readonly offline: { get(): boolean; set(off: boolean): void; subscribe(fn: () => void): () => void }
  /** Why the link is not online, as the leading tab last saw it. */
  readonly reason: { get(): LinkReason | undefined; subscribe(fn: () => void): () => void }
}

export const linkControls = (user: string): LinkControls => {
  const offline = sharedValue(`tidings-offline:${user}`)
  const reason = sharedValue(`tidings-link:${user}`)
  return {
    offline: {
      get: () => offline.get() === '1',
      set: (off) => offline.set(off ? '1' : undefined),
      subscribe: offline.subscribe,
    },
    reason: { get: () => reason.get() as LinkReason | undefined, subscribe: reason.subscribe },
  }
}

/**
 * Runs in the leading tab around its network transport: obeys the offline switch (never
 * connecting while it is on, not even at start, so a page reloaded offline stays offline) and
 * publishes why the link is down. `noteError` takes the transport's errors that explain a state.
 */
export const switchedLink = (
  inner: Transport,
  user: string,
): { transport: Transport; noteError: (error: TidingsError) => void } => {
  const controls = linkControls(user)
  const reason = sharedValue(`tidings-link:${user}`)
  let session: TransportSession | undefined
  let refused = false
  // Set once an attempt failed before the server welcomed it: the server is unreachable.
  let unreachable = false
  let last: ConnectionState = inner.state
  const why = (): LinkReason | undefined => {
    if (controls.offline.get()) return 'switched off'
    if (inner.state === 'online' || inner.state === 'syncing') return undefined
    if (refused) return 'auth refused'
    if (navigator.onLine === false) return 'no network'
    return unreachable ? 'server down' : undefined
  }
  const publish = () => reason.set(why())
  inner.on('connection', (state) => {
    if (state === 'syncing' || state === 'online') refused = unreachable = false
    else if (state === 'offline' && last === 'connecting' && !controls.offline.get()) unreachable = true
    last = state
    publish()
  })
  const stop = controls.offline.subscribe(() => {
    if (controls.offline.get()) inner.disconnect()
    else if (session) inner.connect(session)
    publish()
  })
  publish()
  // Everything but connect and close goes to the real transport, members it gains later included
  // (a hand-written wrapper would silently drop, say, presence).
  const own: Partial<Transport> = {
    connect(s) {
      session = s
      if (!controls.offline.get()) inner.connect(s)
    },
    close() {
      stop()
      return inner.close()
    },
  }
  const transport = new Proxy(inner, {
    get(target, key) {
      if (Object.hasOwn(own, key)) return own[key as keyof Transport]
      const value = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return {
    transport,
    noteError(error) {
      if (error.code !== 'auth/denied') return
      refused = true
      publish()
    },
  }
}
