import type { Timers } from '@tidings/core'

// Method syntax makes the parameter bivariant, so handlers typed with the platform's richer event fit.
type Handler<E> = { handle(event: E): void }['handle'] | null

/** The part of a WebSocket the transport uses: the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
  binaryType: string
  readonly bufferedAmount: number
  readonly readyState: number
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  onopen: Handler<unknown>
  onmessage: Handler<{ data: unknown }>
  onclose: Handler<{ code: number; reason: string }>
  onerror: Handler<unknown>
}

/** A WebSocket constructor: `globalThis.WebSocket` in browsers, `WebSocket` from 'ws' in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike

/**
 * Tells whether the platform has a network, when it comes back and when it goes (`navigator.onLine`,
 * the window 'online' and 'offline' events).
 */
export interface OnlineSource {
  /** False when the platform knows it has no network: reconnect attempts wait. */
  isOnline(): boolean
  /** Calls `fn` whenever the platform reports it is online again; returns the unsubscribe. */
  subscribe(fn: () => void): () => void
  /**
   * Calls `fn` whenever the platform reports the network gone; returns the unsubscribe.
   * @remarks Optional: without it a lost network shows only at the ping timeout (12 s by default).
   */
  subscribeOffline?(fn: () => void): () => void
}

/** WebSocket ready state of an open socket (the same number in every implementation). */
export const OPEN = 1

export const defaultTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

interface EventTargetLike {
  addEventListener(type: string, fn: () => void): void
  removeEventListener(type: string, fn: () => void): void
}

/**
 * The browser's online signal: `navigator.onLine` and the window 'online' and 'offline' events;
 * elsewhere always online.
 */
export const defaultOnline = (): OnlineSource => {
  const target = globalThis as unknown as Partial<EventTargetLike> & { navigator?: { onLine?: boolean } }
  const listen = (type: 'online' | 'offline') => (fn: () => void) => {
    if (typeof target.addEventListener !== 'function') return () => {}
    target.addEventListener(type, fn)
    return () => target.removeEventListener?.(type, fn)
  }
  return {
    isOnline: () => target.navigator?.onLine !== false,
    subscribe: listen('online'),
    subscribeOffline: listen('offline'),
  }
}

/** The global WebSocket constructor, if the platform has one. */
export const globalWebSocket = (): WebSocketConstructor | undefined =>
  (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
