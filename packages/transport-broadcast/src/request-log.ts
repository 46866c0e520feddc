import {
  type ConversationId,
  type Priority,
  readKeySets,
  type StorageAdapter,
  type WriteBatch,
} from '@tidings/core'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

/** Storage meta key of the log: JSON `[requestId, messageId][]`, oldest first. */
export const LOG_KEY = 'tabs:sent'
/** Follower sends remembered; retries come within seconds of a leader change, never hundreds later. */
export const LOG_SIZE = 256

/** A follower's send the leader has started and whose commit is not seen yet. */
interface Expected {
  readonly request: string
  readonly conversation: ConversationId
  readonly body: string
  readonly priority: Priority
  readonly replyTo: string | undefined
}

/** A value as Yjs will give it back: lib0's `writeAny` round trip, so both sides compare alike. */
const asStored = (value: unknown): string => {
  const bytes = encoding.encode((encoder) => encoding.writeAny(encoder, value as never))
  return JSON.stringify(decoding.readAny(decoding.createDecoder(bytes)))
}

/** The record a lane update sets under `messageId` in map `m`, if it does. */
const recordIn = (update: Uint8Array, messageId: string): Record<string, unknown> | undefined => {
  try {
    const set = readKeySets(update).find(({ map, key }) => map === 'm' && key === messageId)
    return typeof set?.value === 'object' && set.value !== null
      ? (set.value as Record<string, unknown>)
      : undefined
  } catch {
    // Not readable: then it is not the commit of a send, which core wrote itself.
    return undefined
  }
}

/**
 * Which follower sends the leader's storage has committed, written in the same transaction as the
 * message itself: a follower that retries a send against a new leader after the old one committed
 * it, but died before answering, gets the stored message back instead of a second copy.
 *
 * @remarks Core's `send` does not say which storage batch it writes, so the batch is recognised by
 * content: the first committed message of the same conversation with the same body, priority and
 * reply, in call order. Sends of the follower tabs cannot be confused with each other (they run in
 * order); only an identical message the leader tab sends itself at the same instant could be taken
 * for the follower's, and then only a crash between the two commits would make a retry return it.
 */
export class RequestLog {
  #sent = new Map<string, string>()
  readonly #expected: Expected[] = []

  /** Reads the log from storage; an unreadable value counts as empty. */
  async load(storage: StorageAdapter): Promise<void> {
    const raw = await storage.getMeta(LOG_KEY)
    const sent = new Map<string, string>()
    try {
      for (const pair of JSON.parse(raw ?? '[]') as unknown[]) {
        if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string')
          sent.set(pair[0], pair[1])
      }
    } catch {
      // A damaged log costs only the protection against double sends across this leader change.
    }
    this.#sent = sent
  }

  /** The message a request created, if its commit is in the log. */
  sent(request: string): string | undefined {
    return this.#sent.get(request)
  }

  /** Announces a send about to start; returns the function that withdraws it if it fails early. */
  expect(
    request: string,
    conversation: ConversationId,
    body: unknown,
    priority: Priority,
    replyTo?: string,
  ): () => void {
    let stored: string
    try {
      stored = asStored(body)
    } catch {
      // Core refuses such a body before it writes anything.
      return () => {}
    }
    const expected = { request, conversation, body: stored, priority, replyTo }
    this.#expected.push(expected)
    return () => {
      const i = this.#expected.indexOf(expected)
      if (i >= 0) this.#expected.splice(i, 1)
    }
  }

  /**
   * Adds the log to a batch that commits an expected send, so both land in one transaction;
   * `commit` takes the new entries once the write succeeded.
   */
  tag(batch: WriteBatch): { batch: WriteBatch; commit: () => void } {
    const none = { batch, commit: () => {} }
    // A send commits its conversation's seq (`seq:<conversation>`) with the message.
    const sends = Object.keys(batch.meta ?? {}).some((key) => key.startsWith('seq:'))
    if (this.#expected.length === 0 || !batch.outbox?.length || !sends) return none
    const matched: [string, string][] = []
    for (const entry of batch.outbox) {
      const messageId = entry.messages[0]
      if (entry.messages.length !== 1 || messageId === undefined) continue
      const record = recordIn(entry.update, messageId)
      if (!record) continue
      const body = JSON.stringify(record.body)
      const i = this.#expected.findIndex(
        (e) =>
          entry.doc.startsWith(`${e.conversation}/`) &&
          e.body === body &&
          e.priority === record.priority &&
          e.replyTo === record.replyTo,
      )
      if (i < 0) continue
      matched.push([this.#expected[i]!.request, messageId])
      this.#expected.splice(i, 1)
    }
    if (matched.length === 0) return none
    const sent = new Map([...this.#sent, ...matched])
    for (const key of sent.keys()) {
      if (sent.size <= LOG_SIZE) break
      sent.delete(key)
    }
    return {
      batch: { ...batch, meta: { ...batch.meta, [LOG_KEY]: JSON.stringify([...sent]) } },
      commit: () => {
        this.#sent = sent
      },
    }
  }
}
