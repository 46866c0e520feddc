import type { ConversationId } from './ids.js'
import type { Outbox } from './outbox.js'
import type { OutgoingUpdate } from './transport.js'
import { readKeySets } from './updates.js'

/** Meta maps whose keys are `<messageId>/<deviceId>` and whose values the server checks against the stored message. */
const PIN_MAPS: ReadonlySet<string> = new Set(['pins', 'pinEdits'])

/**
 * Holds back an update that names a message the server does not have yet: a pin (or a pin's edit)
 * of a message still in the outbox. Meta travels first, so a pin made offline would reach the
 * server before its message and be refused for naming a message it does not store.
 * Such an update goes out once every message it names has been acknowledged.
 */
export class SendOrder {
  readonly #waiting = new Map<string, OutgoingUpdate>()

  constructor(private readonly outbox: Outbox) {}

  /** True when `update` must wait; it is then kept and given back by `released()`. */
  hold(update: OutgoingUpdate): boolean {
    if (update.lane !== 'meta' || update.key === undefined) return false
    if (this.#named(update).length === 0) return false
    this.#waiting.set(update.key, update)
    return true
  }

  /** The held updates whose messages have all been acknowledged since; they are forgotten here. */
  released(): OutgoingUpdate[] {
    const ready: OutgoingUpdate[] = []
    for (const [key, update] of this.#waiting) {
      if (!this.outbox.get(key)) this.#waiting.delete(key)
      else if (this.#named(update).length === 0) {
        this.#waiting.delete(key)
        ready.push(update)
      }
    }
    return ready
  }

  /** Messages the update's pins name that are still pending on this device. */
  #named(update: OutgoingUpdate): string[] {
    const pending: string[] = []
    for (const { map, key } of readKeySets(update.update)) {
      if (!PIN_MAPS.has(map)) continue
      const id = key.slice(0, key.lastIndexOf('/'))
      if (this.outbox.isPending(update.conversation as ConversationId, id)) pending.push(id)
    }
    return pending
  }
}
