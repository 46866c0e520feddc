import type { Timers } from './context.js'
import type { Conversation } from './conversation.js'
import { TidingsError } from './errors.js'
import type { ConversationId } from './ids.js'
import type { Priority } from './lanes.js'
import type { Message } from './message.js'
import type { PresenceState } from './presence.js'
import type { Unsubscribe } from './transport.js'

/** A write a follower client hands to the client it follows, which makes it with its own device. */
export type ForwardedWrite =
  | {
      readonly op: 'send'
      readonly body: unknown
      readonly priority?: Priority
      readonly replyTo?: string
    }
  | { readonly op: 'edit'; readonly id: string; readonly body: unknown }
  | { readonly op: 'delete' | 'pin' | 'unpin' | 'markRead'; readonly id: string }
  | { readonly op: 'retain'; readonly wall: number }
  /** An export's text, whole: the followed client checks every record before it writes. */
  | { readonly op: 'import'; readonly text: string }

/**
 * The write side of a follower transport (a tab that is not the leader): the client's conversations
 * make no writes of their own but hand them here, and take their outbox from here.
 */
export interface Forwarder {
  /**
   * Has the followed client make the write; resolves once its storage committed it, with the
   * message for a send (null when that client no longer holds it), the count for an import, and
   * rejects with its error.
   * @remarks Waits while nobody is there to make it; never makes a write twice.
   */
  write(conversation: ConversationId, write: ForwardedWrite): Promise<Message | number | null>
  /** Ids of the conversation's messages the followed client's server has not acknowledged. */
  pendingIds(conversation: ConversationId): readonly string[]
  /** Calls `listener` when `pendingIds` of a conversation changed; returns the function that stops it. */
  onPending(listener: (conversation: ConversationId) => void): Unsubscribe
  /**
   * Has the followed client merge a follower's `setPresence` into the device's presence, which it
   * publishes; dropped while nobody is there (the follower hands its state again after each sync).
   * @remarks Optional: without it a follower's presence stays in its own view.
   */
  presence?(conversation: ConversationId, state: PresenceState): void
  /** The followed client's device, once known: a follower lists it as self in `presence()`. */
  device?(): string | undefined
}

/** Longest wait for this client's view to show a message the followed client sent for it. */
const VIEW_WAIT_MS = 5000

/** Resolves with message `id` once `convo` shows it, or undefined after the wait (a window without it). */
const shown = (convo: Conversation, id: string, timers: Timers) =>
  new Promise<Message | undefined>((resolve) => {
    const find = () => convo.messages().find((m) => m.id === id)
    const now = find()
    if (now) return resolve(now)
    const done = (message: Message | undefined) => {
      timers.clearTimeout(timer)
      off()
      resolve(message)
    }
    const off = convo.subscribe(() => {
      const message = find()
      if (message) done(message)
    })
    const timer = timers.setTimeout(() => done(undefined), VIEW_WAIT_MS)
  })

/**
 * Sends through the followed client; resolves once its storage committed the message and this
 * client's view shows it (its commit travels apart from the answer), with this view's copy.
 */
export const forwardSend = async (
  forwarder: Forwarder,
  convo: Conversation,
  write: Extract<ForwardedWrite, { op: 'send' }>,
  timers: Timers,
): Promise<Message> => {
  const message = await forwarder.write(convo.id, write)
  if (!message || typeof message === 'number') {
    throw new TidingsError('message/unknown', 'The leading client sent the message but no longer holds it.')
  }
  return (await shown(convo, message.id, timers)) ?? message
}
