import {
  type Client,
  type Conversation,
  createClient,
  type LoopbackTransport,
  loopbackHub,
  memoryStorage,
  type TidingsError,
} from '@tidings/core'
import {
  type BroadcastChannelConstructor,
  type BroadcastChannelLike,
  memoryLocks,
  type TabsTransport,
  tabsTransport,
} from '@tidings/transport-broadcast'
import { until } from './raw.js'

let worlds = 0

/** One browser profile: a lock manager, a storage that outlives tabs, the sync hub and its name. */
export const world = () => {
  const store = memoryStorage()
  return {
    name: `attack10-${process.pid}-${++worlds}`,
    locks: memoryLocks(),
    store,
    hub: loopbackHub(),
    tabs: [] as Tab[],
    clients: [] as Client[],
  }
}
export type World = ReturnType<typeof world>

export interface Tab {
  readonly transport: TabsTransport
  readonly client: Client
  readonly room: Conversation
  readonly errors: TidingsError[]
  /** The leader's network link, once this tab led. */
  link: LoopbackTransport | undefined
  close(): Promise<void>
  /** The tab dies: its channel goes silent at once, its storage handle and link are cut. */
  crash(): Promise<void>
}

/** A tab running the app's one code path: a client on `tabsTransport`, signed in as `user`. */
export const openTab = async (w: World, user = 'alice'): Promise<Tab> => {
  let dead = false
  const channels: BroadcastChannel[] = []
  class TabChannel implements BroadcastChannelLike {
    readonly #inner: BroadcastChannel
    constructor(name: string) {
      this.#inner = new BroadcastChannel(name)
      channels.push(this.#inner)
    }
    postMessage(message: unknown) {
      if (!dead) this.#inner.postMessage(message)
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
  const errors: TidingsError[] = []
  let storage: ReturnType<typeof w.store.reopen> | undefined
  const transport = tabsTransport({
    name: w.name,
    locks: w.locks,
    BroadcastChannel: TabChannel as BroadcastChannelConstructor,
    onError: (e) => errors.push(e),
    leader: () => {
      storage = w.store.reopen()
      tab.link = w.hub.transport()
      return { storage, transport: tab.link, receiptDelay: 0 }
    },
  })
  const client = createClient({ user, transport, receiptDelay: 0 })
  const tab: Tab = {
    transport,
    client,
    room: undefined as unknown as Conversation,
    errors,
    link: undefined,
    close: () => client.close(),
    async crash() {
      dead = true
      for (const channel of channels) channel.close()
      tab.link?.disconnect()
      // A new handle closes the old one: every later call of the dead leader fails.
      if (storage) w.store.reopen().close()
      await client.close().catch(() => undefined)
    },
  }
  w.tabs.push(tab)
  Object.assign(tab, { room: await client.open('room') })
  return tab
}

export const leads = (tab: Tab) => until(() => tab.transport.server !== undefined, 'the tab to lead')

export const attached = (tab: Tab, leader: Tab) =>
  until(
    () => tab.transport.leader === leader.transport.server?.id && tab.transport.link === 'online',
    'the tab to attach to the leader',
  )

/** Bob on the hub, closed with the world. */
export const bob = (w: World) => {
  const client = createClient({ user: 'bob', transport: w.hub.transport(), receiptDelay: 0 })
  w.clients.push(client)
  return client
}

export const closeWorld = async (w: World) => {
  for (const tab of w.tabs.splice(0).reverse()) await tab.crash()
  await Promise.all(w.clients.splice(0).map((c) => c.close().catch(() => undefined)))
}

/** Resolves with the settled outcome of `promise`, or 'hung' after `ms`. */
export const settles = <T>(promise: Promise<T>, ms = 5000) =>
  Promise.race([
    promise.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
    new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms)),
  ])
