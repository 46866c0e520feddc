import type { Client, Conversation } from '@tidings/core'
import { useEffect, useState } from 'react'

type Opened = { client: Client; id: string } & ({ conversation: Conversation } | { error: unknown })

/**
 * Opens conversation `id` on `client` and returns it, or `undefined` while it opens (and always
 * during server rendering and hydration: the open runs in an effect, so the server never touches
 * storage).
 *
 * @remarks Nothing is closed on unmount: core has no per-conversation close, and `client.open`
 * returns the same `Conversation` for an id already open, so remounting costs nothing. Open
 * conversations live until `client.close()`. A failed open (`storage/locked`, `client/closed` …)
 * is thrown from the hook at the next render, for an error boundary to show.
 */
export function useConversation(client: Client, id: string | undefined): Conversation | undefined {
  const [opened, setOpened] = useState<Opened>()
  useEffect(() => {
    if (id === undefined) return
    // An open that resolves after unmount or after `id` changed must not show up here.
    let current = true
    client.open(id).then(
      (conversation) => current && setOpened({ client, id, conversation }),
      (error: unknown) => current && setOpened({ client, id, error }),
    )
    return () => {
      current = false
    }
  }, [client, id])
  // What was opened for another client or id is not this one.
  if (opened === undefined || opened.client !== client || opened.id !== id) return undefined
  if ('error' in opened) throw opened.error
  return opened.conversation
}
