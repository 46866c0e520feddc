import {
  type Client,
  type Conversation,
  createClient,
  type LoopbackHub,
  loopbackHub,
  memoryStorage,
  type StorageAdapter,
  TidingsError,
  type Transport,
} from '@tidings/core'
import {
  type BroadcastChannelConstructor,
  type BroadcastChannelLike,
  type MemoryLocks,
  memoryLocks,
  type TabServer,
  type TabsTransport,
  tabsTransport,
} from '@tidings/transport-broadcast'

export const NAME = 'alice-store'

/** Resolves when `predicate` holds, checking after every turn of the event loop; fails after `ms`. */
export const waitFor = async (predicate: () => boolean, what = 'a condition', ms = 5000): Promise<void> => {
  const start = Date.now()
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

/**
 * BroadcastChannels of one simulated tab: `crash()` silences them at once, as when a tab dies, and
 * `drop` lets a test lose chosen outgoing messages.
 */
export const tabChannels = () => {
  const open: BroadcastChannel[] = []
  let dead = false
  const state = { drop: (_message: Record<string, unknown>) => false }
  class TabChannel implements BroadcastChannelLike {
    readonly #inner: BroadcastChannel
    constructor(name: string) {
      this.#inner = new BroadcastChannel(name)
      open.push(this.#inner)
    }
    postMessage(message: unknown) {
      if (!dead && !state.drop(message as Record<string, unknown>)) this.#inner.postMessage(message)
    }
    addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void) {
      this.#inner.addEventListener(type, (event) => {
        if (!dead) listener(event as MessageEvent)
      })
    }
    close() {
      this.#inner.close()
    }
  }
  return {
    Ctor: TabChannel as BroadcastChannelConstructor,
    state,
    crash() {
      dead = true
      for (const channel of open) channel.close()
    },
  }
}

/** A storage that outlives its clients (the browser's IndexedDB) and that a crash can cut off. */
export const durable = (inner: StorageAdapter = memoryStorage()) => ({
  inner,
  /** A handle for one leader: closing it keeps the bytes; `kill()` makes every later call fail. */
  handle() {
    let dead = false
    const live = <T>(fn: () => Promise<T>) =>
      dead ? Promise.reject(new TidingsError('storage/closed', 'the tab is gone')) : fn()
    const storage: StorageAdapter = {
      listDocs: (c) => live(() => inner.listDocs(c)),
      load: (d) => live(() => inner.load(d)),
      write: (b) => live(() => inner.write(b)),
      getMeta: (k) => live(() => inner.getMeta(k)),
      outbox: () => live(() => inner.outbox()),
      compact: (d) => live(() => inner.compact(d)),
      drop: (d) => live(() => inner.drop(d)),
      close: async () => {},
    }
    return {
      storage,
      kill: () => {
        dead = true
      },
    }
  },
})

/** Several tabs of one browser profile, a sync hub standing in for the server, and bob on it. */
export const world = () => {
  const locks: MemoryLocks = memoryLocks()
  const store = durable()
  const net: LoopbackHub = loopbackHub()
  const tabs: Tab[] = []
  return { locks, store, net, tabs }
}
export type World = ReturnType<typeof world>

export interface Tab {
  readonly transport: TabsTransport
  readonly client: Client
  readonly room: Conversation
  readonly channels: ReturnType<typeof tabChannels>
  /** What the transport reported through `onError`. */
  readonly errors: TidingsError[]
  /** The real client's server, while this tab leads. */
  readonly server: TabServer | undefined
  /** The leader's network link and storage handle, once this tab led. */
  readonly link: Transport | undefined
  readonly storage: ReturnType<ReturnType<typeof durable>['handle']> | undefined
  close(): Promise<void>
  /** Dies at once: no goodbye, its storage handle and network link cut, its lock released. */
  crash(): Promise<void>
}

/**
 * Opens a tab the way an app does, with the same code in every tab: one client on `tabsTransport`.
 * The tab that wins the lock runs the real client on the shared storage and the hub.
 */
export const openTab = async (w: World, user = 'alice'): Promise<Tab> => {
  const channels = tabChannels()
  const errors: TidingsError[] = []
  const led: Pick<Tab, 'link' | 'storage'> = { link: undefined, storage: undefined }
  const transport = tabsTransport({
    name: NAME,
    locks: w.locks,
    BroadcastChannel: channels.Ctor,
    onError: (e) => errors.push(e),
    leader: () => {
      const storage = w.store.handle()
      const link = w.net.transport()
      Object.assign(led, { storage, link })
      return { storage: storage.storage, transport: link, receiptDelay: 0 }
    },
  })
  const client = createClient({ user, transport, receiptDelay: 0 })
  const room = await client.open('room')
  const tab: Tab = {
    transport,
    client,
    room,
    channels,
    errors,
    get server() {
      return transport.server
    },
    get link() {
      return led.link
    },
    get storage() {
      return led.storage
    },
    close: () => client.close(),
    async crash() {
      channels.crash()
      tab.storage?.kill()
      tab.link?.disconnect()
      await client.close().catch(() => undefined)
    },
  }
  w.tabs.push(tab)
  return tab
}

/** Resolves once `tab` leads. */
export const leads = (tab: Tab) => waitFor(() => tab.server !== undefined, 'the tab to lead')

/** Resolves once `tab` follows the tab `leader` and is synced with it. */
export const attached = (tab: Tab, leader: Tab) =>
  waitFor(
    () => tab.transport.leader === leader.server?.id && tab.transport.link === 'online',
    'the tab to attach to the leader',
  )

/** The real client's view of the room, in the leading tab. */
export const leaderRoom = (tab: Tab): Promise<Conversation> => tab.server!.client.open('room')

/** Closes whatever a test left open, crashed tabs included. */
export const closeWorld = async (w: World) => {
  for (const tab of w.tabs.splice(0).reverse()) {
    tab.channels.crash()
    await tab.close().catch(() => undefined)
  }
}

/** A client of another user, straight on the sync hub. */
export const bob = (w: World) => createClient({ user: 'bob', transport: w.net.transport(), receiptDelay: 0 })

export const texts = (c: Conversation) => c.messages().map((m) => (m.deleted ? '<deleted>' : m.body))
export const ids = (c: Conversation) => c.messages().map((m) => m.id)
