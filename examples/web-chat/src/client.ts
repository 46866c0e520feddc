import { type Client, createClient, type TidingsError } from '@tidings/core'
import { indexeddbStorage } from '@tidings/storage-indexeddb'
import { type TabsTransport, tabsTransport } from '@tidings/transport-broadcast'
import { websocketTransport } from '@tidings/transport-websocket'
import type { User } from './demo.js'
import { type LinkControls, linkControls, switchedLink } from './link.js'

/** One signed-in user in this tab: the client, and the link's switch and reason. */
export interface Session {
  readonly user: User
  readonly client: Client
  /** This tab's transport: follows the user's leading tab, and leads when it holds the lock. */
  readonly transport: TabsTransport
  readonly link: LinkControls
}

/** The sync server shares the page's origin: the WebSocket is at `/` on the same host and port. */
const serverUrl = () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`

/**
 * Creates this tab's client, the same in every tab: the tab holding the user's Web Lock runs the
 * IndexedDB storage (one database per user, so two users can share a browser) and the WebSocket;
 * the others forward to it. The one place that decides how a tab reaches storage and the network.
 */
export const startSession = (user: User, onError: (error: TidingsError) => void): Session => {
  const name = `tidings-${user}`
  const transport = tabsTransport({
    name,
    onError,
    leader: () => {
      let note: (error: TidingsError) => void = () => {}
      const link = switchedLink(
        websocketTransport({
          url: serverUrl(),
          token: `demo-${user}`,
          onError: (error) => {
            note(error)
            onError(error)
          },
        }),
        user,
      )
      note = link.noteError
      return { storage: indexeddbStorage({ name }), transport: link.transport }
    },
  })
  const client = createClient({ user, transport })
  client.on('error', onError)
  return { user, client, transport, link: linkControls(user) }
}
