import { TidingsError } from '@tidings/core'
import { defaultLocks, type LockManagerLike } from './locks.js'

/** Options of `tabLeader`. */
export interface TabLeaderOptions {
  /** Names the storage the tabs share; the lock is `tidings-tab:<name>`. */
  readonly name: string
  /**
   * Web Locks (default `navigator.locks`). Where there is none, or with `null`, this tab leads at
   * once: without Web Locks there is no way to tell other tabs apart, and a runtime without them
   * (Node, a worker of an old browser) has no other tabs sharing its storage.
   */
  readonly locks?: LockManagerLike | null
}

/** This tab's place in the election for one storage. */
export interface TabLeader {
  /** True from the moment this tab holds the lock until `close()`. */
  readonly isLeader: boolean
  /**
   * Resolves true when this tab becomes the leader (it then creates the real client and
   * `serveTabs`), or false when `close()` came first.
   */
  readonly elected: Promise<boolean>
  /** Leaves the queue, or releases the lock so the next tab in line takes over; resolves once it is free. */
  close(): Promise<void>
}

/** Queues this tab for the storage's Web Lock; the tab that holds it leads the others. */
export const tabLeader = (options: TabLeaderOptions): TabLeader => {
  if (typeof options.name !== 'string' || options.name.length === 0) {
    throw new TidingsError('input/invalid', 'tabLeader needs a name: the storage the tabs share.')
  }
  const locks = options.locks === undefined ? defaultLocks() : options.locks
  const abort = new AbortController()
  let leading = false
  let closed = false
  let release: (() => void) | undefined
  let settle!: (leading: boolean) => void
  const elected = new Promise<boolean>((resolve) => {
    settle = resolve
  })

  let held: Promise<unknown> = Promise.resolve()
  if (!locks) {
    leading = true
    settle(true)
  } else {
    held = locks
      .request(`tidings-tab:${options.name}`, { signal: abort.signal }, () => {
        if (closed) return undefined
        leading = true
        settle(true)
        // Held until close(), or until the tab goes away: the browser then releases it itself.
        return new Promise<void>((resolve) => {
          release = resolve
        })
      })
      .catch(() => settle(false))
  }

  return {
    get isLeader() {
      return leading
    },
    elected,
    async close() {
      if (closed) return
      closed = true
      leading = false
      abort.abort()
      release?.()
      settle(false)
      // Resolves once the lock is free, so the next tab may already be taking over.
      await held.catch(() => undefined)
    },
  }
}
