// The page the browser test opens in several tabs. Every tab reads and writes through a follower
// client; the tab that wins the Web Lock also runs the real client on IndexedDB and serves the rest.
import { type Client, createClient } from '@tidings/core'
import { indexeddbStorage } from '@tidings/storage-indexeddb'
import { broadcastTransport, serveTabs, type TabServer, tabLeader } from '@tidings/transport-broadcast'

const NAME = 'tabs-test'

interface TabApi {
  isLeader(): boolean
  /** This tab's server id once it serves, and the leader its follower client attached to. */
  serverId(): string | undefined
  leaderId(): string | undefined
  state(): string
  send(text: string): Promise<string>
  /** [id, text, device] of every message in this tab's follower view. */
  view(): [string, string, string][]
  /** The same, read from the real client, in the leading tab only. */
  leaderView(): Promise<[string, string, string][] | undefined>
}

declare global {
  interface Window {
    tab?: TabApi
    failure?: string
  }
}

const rows = (client: Client) =>
  client
    .open('room')
    .then((room) =>
      room
        .messages()
        .map((m): [string, string, string] => [m.id, (m.body as { text: string }).text, m.device]),
    )

const main = async () => {
  const leader = tabLeader({ name: NAME })
  const transport = broadcastTransport({ name: NAME })
  const client = createClient({ user: 'alice', transport })
  const room = await client.open('room')
  const remote = transport.remote(room)
  let server: TabServer | undefined
  void leader.elected.then((elected) => {
    if (!elected) return
    server = serveTabs({
      name: NAME,
      storage: indexeddbStorage({ name: NAME }),
      createClient: (storage) => createClient({ user: 'alice', storage }),
    })
  })
  window.tab = {
    isLeader: () => leader.isLeader,
    serverId: () => server?.id,
    leaderId: () => transport.leader,
    state: () => transport.state,
    send: async (text) => (await remote.send({ text })).id,
    view: () =>
      room
        .messages()
        .map((m): [string, string, string] => [m.id, (m.body as { text: string }).text, m.device]),
    leaderView: async () => (server ? rows(server.client) : undefined),
  }
}

main().catch((error: unknown) => {
  window.failure = String((error as Error)?.stack ?? error)
})
