import type { Client, ConnectionState, ConversationSummary } from '@tidings/core'
import { useCallback, useSyncExternalStore } from 'react'

const NO_SUMMARIES: readonly ConversationSummary[] = Object.freeze([])
const noSummaries = () => NO_SUMMARIES
const offline = (): ConnectionState => 'offline'

const useSubscribe = (client: Client) =>
  useCallback((listener: () => void) => client.subscribe(listener), [client])

/** The client's link state (`client.connection`); `'offline'` on the server and during hydration. */
export function useConnection(client: Client): ConnectionState {
  const getSnapshot = useCallback(() => client.connection, [client])
  return useSyncExternalStore(useSubscribe(client), getSnapshot, offline)
}

/**
 * The open conversations with their unread counts (`client.conversations()`), re-rendering only
 * when a conversation opens or a count changes; empty on the server and during hydration.
 */
export function useUnread(client: Client): readonly ConversationSummary[] {
  const getSnapshot = useCallback(() => client.conversations(), [client])
  return useSyncExternalStore(useSubscribe(client), getSnapshot, noSummaries)
}
