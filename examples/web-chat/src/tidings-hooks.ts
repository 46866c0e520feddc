/**
 * Stand-in for `@tidings/react` until that package lands: the same hook names and signatures, so
 * the switch is one import path. Delete this file then.
 */
import type {
  Client,
  ConnectionState,
  Conversation,
  ConversationSummary,
  Message,
  MessageStatus,
  PresencePeer,
} from '@tidings/core'
import { useEffect, useRef, useState, useSyncExternalStore } from 'react'

const none: readonly PresencePeer[] = []
const noMessages: readonly Message[] = []
const idle = () => () => {}

export const useConversation = (client: Client, id: string): Conversation | undefined => {
  const [convo, setConvo] = useState<Conversation>()
  useEffect(() => {
    let live = true
    setConvo(undefined)
    client.open(id).then(
      (c) => live && setConvo(c),
      () => {},
    )
    return () => {
      live = false
    }
  }, [client, id])
  return convo
}

export const useMessages = (convo: Conversation | undefined): readonly Message[] =>
  useSyncExternalStore(convo ? (fn) => convo.subscribe(fn) : idle, () => convo?.messages() ?? noMessages)

export const useStatus = (convo: Conversation, id: string): MessageStatus =>
  useSyncExternalStore(
    (fn) => convo.subscribe(fn),
    () => convo.status(id),
  )

export const usePresence = (convo: Conversation | undefined): readonly PresencePeer[] =>
  useSyncExternalStore(convo ? (fn) => convo.subscribe(fn) : idle, () => convo?.presence() ?? none)

export const useConnection = (client: Client): ConnectionState =>
  useSyncExternalStore(
    (fn) => client.on('connection', fn),
    () => client.connection,
  )

/** Unread counts of the open conversations; re-rendered when any of them changes. */
export const useUnread = (client: Client): readonly ConversationSummary[] => {
  const cache = useRef<{ key: string; value: ConversationSummary[] }>({ key: '', value: [] })
  const [, bump] = useState(0)
  useEffect(() => {
    // Conversations opened later join at the next poll of the list; the demo opens all at login.
    const stops = new Map<string, () => void>()
    const watch = () => {
      for (const { id } of client.conversations()) {
        if (stops.has(id)) continue
        void client.open(id).then((c) =>
          stops.set(
            id,
            c.subscribe(() => bump((n) => n + 1)),
          ),
        )
      }
    }
    watch()
    const timer = setInterval(watch, 500)
    return () => {
      clearInterval(timer)
      for (const stop of stops.values()) stop()
    }
  }, [client])
  const value = client.conversations()
  const key = JSON.stringify(value)
  if (key !== cache.current.key) cache.current = { key, value }
  return cache.current.value
}
