import {
  type ClientOptions,
  createClient,
  type LoopbackHub,
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
  }
}

export type ManualTime = ReturnType<typeof manualTime>

/** A client on a hub link that the test can take offline and bring back. */
export const device = (
  hub: LoopbackHub,
  user: string,
  time: ManualTime,
  extra: Partial<ClientOptions> = {},
) => {
  const link = hub.transport()
  const client = createClient({
    user,
    storage: memoryStorage(),
    transport: link,
    clock: { now: time.now },
    receiptDelay: 0,
    ...extra,
  })
  return {
    client,
    link,
    offline: () => link.disconnect(),
    online: () => link.connect({ user, device: client.device! }),
  }
}

export const pair = (extra: Partial<ClientOptions> = {}) => {
  const hub = loopbackHub({ manual: true })
  const time = manualTime()
  return {
    hub,
    time,
    alice: device(hub, 'alice', time, extra).client,
    bob: device(hub, 'bob', time, extra).client,
  }
}
