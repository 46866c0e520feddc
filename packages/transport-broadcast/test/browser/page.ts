// The page the browser test opens in several tabs: the same code in every tab. The tab that wins
// the Web Lock also runs the real client on IndexedDB and serves the rest.
import { type Client, createClient } from '@tidings/core'
import { indexeddbStorage } from '@tidings/storage-indexeddb'
import { tabsTransport } from '@tidings/transport-broadcast'

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
  const transport = tabsTransport({
    name: NAME,
    leader: () => ({ storage: indexeddbStorage({ name: NAME }) }),
  })
  const client = createClient({ user: 'alice', transport })
  const room = await client.open('room')
  window.tab = {
    isLeader: () => transport.isLeader,
    serverId: () => transport.server?.id,
    leaderId: () => transport.leader,
    state: () => transport.link,
    send: async (text) => (await room.send({ text })).id,
    view: () =>
      room
        .messages()
        .map((m): [string, string, string] => [m.id, (m.body as { text: string }).text, m.device]),
    leaderView: async () => (transport.server ? rows(transport.server.client) : undefined),
  }
}

main().catch((error: unknown) => {
  window.failure = String((error as Error)?.stack ?? error)
})
