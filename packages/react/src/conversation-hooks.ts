import {
  type Conversation,
  isTidingsError,
  type Message,
  type MessageStatus,
  type PresencePeer,
} from '@tidings/core'
import { useCallback, useSyncExternalStore } from 'react'

const NO_MESSAGES: readonly Message[] = Object.freeze([])
const noMessages = () => NO_MESSAGES
const NO_PEERS: readonly PresencePeer[] = Object.freeze([])
const noPeers = () => NO_PEERS
const noStatus = () => undefined
const unsubscribed = () => {}

/** Subscribes to a conversation, or to nothing while there is none. */
const useSubscribe = (convo: Conversation | undefined) =>
  useCallback((listener: () => void) => (convo ? convo.subscribe(listener) : unsubscribed), [convo])

/**
 * The loaded messages of `convo` in display order (`convo.messages()`), re-rendering only when
 * that array changes; empty while `convo` is `undefined`, on the server and during hydration.
 */
export function useMessages(convo: Conversation | undefined): readonly Message[] {
  const getSnapshot = useCallback(() => (convo ? convo.messages() : NO_MESSAGES), [convo])
  return useSyncExternalStore(useSubscribe(convo), getSnapshot, noMessages)
}

/**
 * The status of message `id` (`convo.status(id)`), re-rendering only when it changes;
 * `undefined` while `convo` or `id` is, when the message is not loaded here, and on the server.
 */
export function useStatus(
  convo: Conversation | undefined,
  id: string | undefined,
): MessageStatus | undefined {
  const getSnapshot = useCallback(() => {
    if (!convo || id === undefined) return undefined
    try {
      return convo.status(id)
    } catch (error) {
      // Not loaded (yet, or any longer): nothing to show rather than a broken render.
      if (isTidingsError(error) && error.code === 'message/unknown') return undefined
      throw error
    }
  }, [convo, id])
  return useSyncExternalStore(useSubscribe(convo), getSnapshot, noStatus)
}

/**
 * Who is online in `convo`, one entry per device, this one included (`convo.presence()`),
 * re-rendering only when that list changes; empty while `convo` is `undefined` and on the server.
 */
export function usePresence(convo: Conversation | undefined): readonly PresencePeer[] {
  const getSnapshot = useCallback(() => (convo ? convo.presence() : NO_PEERS), [convo])
  return useSyncExternalStore(useSubscribe(convo), getSnapshot, noPeers)
}
