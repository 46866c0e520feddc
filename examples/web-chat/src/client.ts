import { type Client, createClient, type TidingsError } from '@tidings/core'
import { indexeddbStorage } from '@tidings/storage-indexeddb'
import { websocketTransport } from '@tidings/transport-websocket'
import type { User } from './demo.js'
import { type SwitchableLink, switchable } from './link.js'

/** One signed-in user in this tab: the client, its link with the offline switch, and its errors. */
export interface Session {
  readonly user: User
  readonly client: Client
  readonly link: SwitchableLink
}

/** The sync server shares the page's origin: the WebSocket is at `/` on the same host and port. */
const serverUrl = () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`

/**
 * Creates this tab's client: IndexedDB storage (one database per user, so two users can share a
 * browser) and the WebSocket transport behind the offline switch. The one place that decides how
 * a tab reaches storage and the network.
 */
export const startSession = (
  user: User,
  offline: boolean,
  onError: (error: TidingsError) => void,
): Session => {
  let link: SwitchableLink | undefined
  const transport = websocketTransport({
    url: serverUrl(),
    token: `demo-${user}`,
    onError: (error) => {
      link?.noteError(error)
      onError(error)
    },
  })
  link = switchable(transport, offline)
  const client = createClient({
    user,
    storage: indexeddbStorage({ name: `tidings-${user}` }),
    transport: link,
  })
  client.on('error', onError)
  return { user, client, link }
}
