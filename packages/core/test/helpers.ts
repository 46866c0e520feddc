import {
  type ClientOptions,
  createClient,
  loopbackHub,
  memoryStorage,
  type StorageAdapter,
} from '../src/index.js'

/** A storage whose close() does nothing, so a test can "restart" a client on the same bytes. */
export const reusable = (storage: StorageAdapter): StorageAdapter => ({ ...storage, close: async () => {} })

/** A controllable physical clock. */
export const manualTime = (start = Date.UTC(2026, 0, 5, 12)) => {
  let now = start
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms
    },
    set: (ms: number) => {
      now = ms
    },
  }
}

export const pair = (extra: Partial<ClientOptions> = {}) => {
  const hub = loopbackHub({ manual: true })
  const time = manualTime()
  const make = (user: string) =>
    createClient({
      user,
      storage: memoryStorage(),
      transport: hub.transport(),
      clock: { now: time.now },
      receiptDelay: 0,
      ...extra,
    })
  return { hub, time, alice: make('alice'), bob: make('bob') }
}
