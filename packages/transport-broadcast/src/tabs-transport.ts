import {
  type ClientOptions,
  createClient,
  type StorageAdapter,
  TidingsError,
  type TransportSession,
} from '@tidings/core'
import {
  type BroadcastTransport,
  type BroadcastTransportOptions,
  FollowerLink,
} from './broadcast-transport.js'
import type { LockManagerLike } from './locks.js'
import { serveTabs, type TabServer } from './serve-tabs.js'
import { type TabLeader, tabLeader } from './tab-leader.js'

/** What the leading tab's real client runs on: its durable storage, its network link, other client options. */
export type LeaderSetup = Omit<ClientOptions, 'user' | 'storage'> & { readonly storage: StorageAdapter }

/** Options of `tabsTransport`: the name the tabs share and how the leading tab builds its real client. */
export interface TabsTransportOptions extends BroadcastTransportOptions {
  /**
   * Called in the tab that wins the lock, each time one does: the real storage and network
   * transport (`{ storage: indexeddbStorage({ name }), transport: websocketTransport(…) }`).
   */
  readonly leader: () => LeaderSetup
  /** Web Locks (default `navigator.locks`); `memoryLocks()` in tests, `null` to lead at once. */
  readonly locks?: LockManagerLike | null
}

/** The transport every tab's client uses: it follows the leading tab, and leads when it wins the lock. */
export interface TabsTransport extends BroadcastTransport {
  /** True while this tab holds the lock and runs the real client. */
  readonly isLeader: boolean
  /** The real client and its server for the other tabs, while this tab leads. */
  readonly server: TabServer | undefined
}

class TabsLink extends FollowerLink implements TabsTransport {
  readonly #options: TabsTransportOptions
  #election: TabLeader | undefined
  #server: TabServer | undefined
  #stopped = false

  constructor(options: TabsTransportOptions) {
    super(options)
    if (typeof options.leader !== 'function') {
      throw new TidingsError(
        'input/invalid',
        'tabsTransport needs leader: () => ({ storage, transport }), what the leading tab runs.',
      )
    }
    this.#options = options
  }

  get isLeader(): boolean {
    return this.#server !== undefined
  }

  get server(): TabServer | undefined {
    return this.#server
  }

  override connect(session: TransportSession) {
    if (this.#stopped) return
    super.connect(session)
    if (this.#election) return
    // Queued once the user is known: the leader's client acts for the user of this tab's client.
    const election = tabLeader({
      name: this.#options.name,
      ...(this.#options.locks === undefined ? {} : { locks: this.#options.locks }),
    })
    this.#election = election
    void election.elected.then((won) => {
      if (won && !this.#stopped) this.#lead(session.user, election)
    })
  }

  #lead(user: string, election: TabLeader) {
    try {
      const { storage, ...options } = this.#options.leader()
      this.#server = serveTabs({
        name: this.#options.name,
        storage,
        network: options.transport,
        ...(this.#options.BroadcastChannel ? { BroadcastChannel: this.#options.BroadcastChannel } : {}),
        createClient: (relayed) => createClient({ ...options, user, storage: relayed }),
      })
    } catch (error) {
      // Another tab may fare better (its own setup); this one stays a follower.
      this.#options.onError?.(
        error instanceof TidingsError
          ? error
          : new TidingsError('client/unexpected', `The leading tab could not start: ${error}`, {
              cause: error,
            }),
      )
      void election.close()
    }
  }

  /**
   * Stops following, then, in the leading tab, answers the calls taken and closes the real client
   * before it frees the lock: the next leader opens the storage only after this one's last commit.
   */
  override async close() {
    if (this.#stopped) return
    this.#stopped = true
    try {
      await super.close()
      await this.#server?.close()
    } finally {
      this.#server = undefined
      await this.#election?.close()
    }
  }
}

/**
 * The transport for the same code in every tab of one storage: `createClient({ user, transport:
 * tabsTransport({ name, leader }) })`. The tab holding the Web Lock also runs the real client from
 * `leader()`; every tab's client reads through the leader and forwards its writes to it.
 */
export const tabsTransport = (options: TabsTransportOptions): TabsTransport => new TabsLink(options)
