import type { ClientContext } from './context.js'
import { type ConversationId, type MessageId, parseMessageId } from './ids.js'
import { DEFAULT_PERIOD_MS, PRIORITIES } from './lanes.js'
import {
  compareOrder,
  headerOf,
  type Message,
  type MessageRecord,
  type OrderKey,
  readMessageRecord,
} from './message.js'
import type { Timeline } from './timeline.js'
import { readKeySets } from './updates.js'
import type { Entry } from './view.js'

const orderKey = (m: Message): OrderKey => ({
  stamp: m.stamp,
  device: m.device,
  seq: parseMessageId(m.id)!.seq,
})

/** A timeline entry for a message known only from bytes (an outbox entry of an unloaded period). */
export const entryOf = (id: MessageId, record: MessageRecord): Entry => ({
  id,
  key: { stamp: record.stamp, device: record.device, seq: parseMessageId(id)!.seq },
  header: headerOf(record),
  body: record.body,
  revision: undefined,
  period: -1,
  periodMs: DEFAULT_PERIOD_MS,
})

/**
 * The outbox of one conversation as messages: urgent first, then in order. Messages of periods
 * not loaded are read from the outbox entry's own bytes.
 */
export const pendingMessages = (
  ctx: ClientContext,
  conversation: ConversationId,
  timeline: Timeline<Entry>,
  toMessage: (entry: Entry) => Message,
): Message[] => {
  const rank = (m: Message) => PRIORITIES.indexOf(m.priority)
  const messages: Message[] = []
  // A follower's outbox is the one of the client it follows, whose messages its view holds.
  for (const id of ctx.forward?.pendingIds(conversation) ?? []) {
    const loaded = timeline.get(id)
    if (loaded) messages.push(toMessage(loaded))
  }
  for (const entry of ctx.outbox.entries(conversation)) {
    if (entry.messages.length === 0) continue
    const unloaded = new Map<string, MessageRecord>()
    if (entry.messages.some((id) => !timeline.get(id))) {
      for (const { map, key, value } of readKeySets(entry.update)) {
        const record = map === 'm' ? readMessageRecord(key, value) : undefined
        if (record) unloaded.set(key, record)
      }
    }
    for (const id of entry.messages) {
      const loaded = timeline.get(id)
      const record = unloaded.get(id)
      if (loaded) messages.push(toMessage(loaded))
      else if (record) messages.push(toMessage(entryOf(id as MessageId, record)))
    }
  }
  return messages.sort((a, b) => rank(a) - rank(b) || compareOrder(orderKey(a), orderKey(b)))
}
