import {
  type Conversation,
  type ConversationId,
  type Message,
  type MessageStatus,
  type SendOptions,
  TidingsError,
  type Timers,
} from '@tidings/core'
import type { Call } from './messages.js'

/**
 * Writes of a follower tab, made by the leader tab's client with the leader's device id. Each
 * resolves once the leader's storage committed the change.
 */
export interface RemoteConversation {
  readonly id: ConversationId
  /**
   * Sends a message through the leader; resolves once the leader's storage committed it and this
   * tab's view shows it. Waits for a leader while there is none; never sent twice, even when the
   * leader changes on the way.
   */
  send(body: unknown, options?: SendOptions): Promise<Message>
  edit(id: string, body: unknown): Promise<void>
  delete(id: string): Promise<void>
  pin(id: string): Promise<void>
  unpin(id: string): Promise<void>
  markRead(id: string): Promise<void>
  /** Ids of messages the leader's server has not acknowledged yet, as the leader last reported. */
  pendingIds(): readonly string[]
  /** The conversation's `status(id)`, but `pending` per the leader's outbox, which this tab lacks. */
  status(id: string): MessageStatus
  /** Calls `listener` when the leader's outbox changes; returns the function that stops it. */
  subscribe(listener: () => void): () => void
}

/** What a remote conversation needs from its transport. */
export interface Caller {
  call(conversation: ConversationId, call: Call): Promise<Message | null>
  pendingIds(conversation: ConversationId): readonly string[]
  onPending(conversation: ConversationId, listener: () => void): () => void
  readonly timers: Timers
  readonly viewTimeout: number
}

/** Resolves once `convo` shows message `id`, or after `ms` (a window that does not hold it). */
const shown = (convo: Conversation, id: string, timers: Timers, ms: number) =>
  new Promise<void>((resolve) => {
    const has = () => convo.messages().some((m) => m.id === id)
    if (has()) return resolve()
    const done = () => {
      timers.clearTimeout(timer)
      off()
      resolve()
    }
    const off = convo.subscribe(() => {
      if (has()) done()
    })
    const timer = timers.setTimeout(done, ms)
  })

/** The write side of a follower's conversation, over its broadcast transport. */
export const remoteConversation = (convo: Conversation, caller: Caller): RemoteConversation => {
  const id = convo.id
  const write = (call: Call) => caller.call(id, call).then(() => undefined)
  return {
    id,
    async send(body, options = {}) {
      const message = await caller.call(id, {
        op: 'send',
        body,
        ...(options.priority === undefined ? {} : { priority: options.priority }),
        ...(options.replyTo === undefined ? {} : { replyTo: options.replyTo }),
      })
      if (!message) {
        throw new TidingsError('message/unknown', 'The leader sent the message but no longer holds it.')
      }
      // The leader posts its commit before its answer; this tab applies it on its own schedule.
      await shown(convo, message.id, caller.timers, caller.viewTimeout)
      return message
    },
    edit: (messageId, body) => write({ op: 'edit', id: messageId, body }),
    delete: (messageId) => write({ op: 'delete', id: messageId }),
    pin: (messageId) => write({ op: 'pin', id: messageId }),
    unpin: (messageId) => write({ op: 'unpin', id: messageId }),
    markRead: (messageId) => write({ op: 'markRead', id: messageId }),
    pendingIds: () => caller.pendingIds(id),
    status(messageId) {
      return caller.pendingIds(id).includes(messageId) ? 'pending' : convo.status(messageId)
    },
    subscribe: (listener) => caller.onPending(id, listener),
  }
}
