import type { ConversationSummary } from './client.js'
import type { Conversation } from './conversation.js'

/**
 * The open conversations with their unread counts, as a store: `get()` returns the same frozen
 * array until a conversation opens or a count changes. A count is computed when asked for, and
 * only for conversations that changed since, so a busy conversation costs nothing until someone
 * reads the list and a quiet one is never counted again.
 */
export class Summaries {
  readonly #entries = new Map<Conversation, ConversationSummary>()
  readonly #stale = new Set<Conversation>()
  readonly #changed: () => void
  #snapshot: readonly ConversationSummary[] = Object.freeze([])

  /** @param changed called whenever the list may have changed. */
  constructor(changed: () => void) {
    this.#changed = changed
  }

  /** Lists a conversation that just opened and follows its changes. */
  add(conversation: Conversation): void {
    const touch = () => {
      this.#stale.add(conversation)
      this.#changed()
    }
    conversation.subscribe(touch)
    touch()
  }

  /** The current list; the same array until an entry changes. */
  get(): readonly ConversationSummary[] {
    if (this.#stale.size === 0) return this.#snapshot
    let changed = false
    for (const conversation of this.#stale) {
      const unread = conversation.unreadCount()
      if (this.#entries.get(conversation)?.unread === unread) continue
      // Insertion order is kept for a conversation already listed: the list stays in opening order.
      this.#entries.set(conversation, Object.freeze({ id: conversation.id, unread }))
      changed = true
    }
    this.#stale.clear()
    if (changed) this.#snapshot = Object.freeze([...this.#entries.values()])
    return this.#snapshot
  }
}
