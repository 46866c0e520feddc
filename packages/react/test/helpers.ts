import { type Client, createClient, loopbackHub, memoryStorage, type StorageAdapter } from '@tidings/core'

/** Two clients on one in-process hub; receipts go out at once. */
export const twoClients = () => {
  const hub = loopbackHub()
  const links = { alice: hub.transport(), bob: hub.transport() }
  const make = (user: 'alice' | 'bob') =>
    createClient({ user, storage: memoryStorage(), transport: links[user], receiptDelay: 0 })
  const alice = make('alice')
  const bob = make('bob')
  return { hub, links, alice, bob, close: () => Promise.all([alice.close(), bob.close()]) }
}

/** Resolves once `check` holds; fails after 5 s. Polls, since a store may settle without notifying. */
export const until = async (check: () => boolean, what = 'condition') => {
  const deadline = Date.now() + 5000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within 5 s`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Counts a store's notifications, to show that some of them re-rendered nothing. */
export const countNotifications = (store: Pick<Client, 'subscribe'>) => {
  const counter = { count: 0 }
  store.subscribe(() => counter.count++)
  return counter
}

/** A storage every method of which throws, and records that it was called. */
export const untouchableStorage = () => {
  const touched: string[] = []
  const storage = new Proxy({} as StorageAdapter, {
    get: (_, key) => {
      // Not a thenable: a storage is never awaited as a whole.
      if (key === 'then') return undefined
      return () => {
        touched.push(String(key))
        throw new Error(`storage.${String(key)} was called`)
      }
    },
  })
  return { storage, touched }
}
