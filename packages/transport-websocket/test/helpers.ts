import type { Timers } from '@tidings/core'
import type { OnlineSource } from '@tidings/transport-websocket'
import { Doc, encodeStateAsUpdate } from 'yjs'

/** Resolves when `predicate` holds, checking after every turn of the event loop; fails after `ms`. */
export const waitFor = async (predicate: () => boolean, what = 'a condition', ms = 10_000): Promise<void> => {
  const start = Date.now()
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

interface Scheduled {
  readonly fn: () => void
  readonly ms: number
  cleared: boolean
  fired: boolean
}

/** Timers that fire only when the test says so; every call is recorded. */
export const manualTimers = () => {
  const scheduled: Scheduled[] = []
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      const entry = { fn, ms, cleared: false, fired: false }
      scheduled.push(entry)
      return entry
    },
    clearTimeout: (handle) => {
      if (handle) (handle as Scheduled).cleared = true
    },
  }
  return {
    timers,
    scheduled,
    /** Pending timers that match `filter`. */
    pending: (filter: (ms: number) => boolean = () => true) =>
      scheduled.filter((s) => !s.cleared && !s.fired && filter(s.ms)),
    fire(entry: Scheduled) {
      entry.fired = true
      entry.fn()
    },
  }
}

/** An online source the test flips: `goOffline` and `comeBack` fire the window events' stand-ins. */
export const fakeOnline = () => {
  const listeners = new Set<() => void>()
  const offlineListeners = new Set<() => void>()
  let online = true
  const source: OnlineSource = {
    isOnline: () => online,
    subscribe: (fn) => {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    subscribeOffline: (fn) => {
      offlineListeners.add(fn)
      return () => offlineListeners.delete(fn)
    },
  }
  const comeBack = () => {
    online = true
    for (const fn of listeners) fn()
  }
  const goOffline = () => {
    online = false
    for (const fn of offlineListeners) fn()
  }
  return { source, comeBack, goOffline, listeners, offlineListeners }
}

/** A valid Yjs update of about `size` bytes: one string set on map `m` by a fresh client. */
export const yUpdate = (size: number, key = 'k'): Uint8Array => {
  const doc = new Doc()
  doc.getMap('m').set(key, 'x'.repeat(size))
  return encodeStateAsUpdate(doc)
}
