import type { ConversationSummary } from './client.js'
import type { Conversation } from './conversation.js'

const sameSummaries = (a: readonly ConversationSummary[], b: readonly ConversationSummary[]) =>
  a.length === b.length && a.every((s, i) => s.id === b[i]?.id && s.unread === b[i]?.unread)

/**
 * The open conversations with their unread counts, as a store: `get()` returns the same frozen
 * array until a conversation opens or a count changes. Counts are computed when asked for, not on
 * every change, so a busy conversation costs nothing until someone reads the list.
 */
export class Summaries {
  readonly #conversations: Conversation[] = []
  readonly #changed: () => void
  #snapshot: readonly ConversationSummary[] = Object.freeze([])
  #stale = false

  /** @param changed called whenever the list may have changed. */
  constructor(changed: () => void) {
    this.#changed = changed
  }

  /** Lists a conversation that just opened and follows its changes. */
  add(conversation: Conversation): void {
    this.#conversations.push(conversation)
    conversation.subscribe(this.#touch)
    this.#touch()
  }

  /** The current list; the same array until an entry changes. */
  get(): readonly ConversationSummary[] {
    if (!this.#stale) return this.#snapshot
    this.#stale = false
    const next = this.#conversations.map((c) => ({ id: c.id, unread: c.unreadCount() }))
    if (!sameSummaries(this.#snapshot, next)) this.#snapshot = Object.freeze(next)
    return this.#snapshot
  }

  readonly #touch = () => {
    this.#stale = true
    this.#changed()
  }
}
