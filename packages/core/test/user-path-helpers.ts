import {
  type ClientOptions,
  type Conversation,
  createClient,
  type LoopbackHub,
  type MemoryStorage,
} from '../src/index.js'

export const HOUR = 60 * 60 * 1000
export const DAY = 24 * HOUR

/** Loads every period, then returns what every replica must agree on. */
export const everything = async (c: Conversation) => {
  while (await c.loadOlder()) {}
  return c.messages().map((m) => ({
    id: m.id,
    author: m.author,
    body: m.body,
    deleted: m.deleted,
    editedAt: m.editedAt,
    replyTo: m.replyTo,
    stamp: m.stamp,
  }))
}

export const exported = async (c: Conversation): Promise<string> => {
  let out = ''
  for await (const line of c.export()) out += line
  return out
}

export const bodies = (c: Conversation) => c.messages().map((m) => m.body)

/** A restart of `user`'s client on the same in-memory store, linked to `hub`, clock `now`. */
export const restart = (
  hub: LoopbackHub,
  user: string,
  store: MemoryStorage,
  now: () => number,
  options: Partial<ClientOptions> = {},
) =>
  createClient({
    user,
    storage: store.reopen(),
    transport: hub.transport(),
    clock: { now },
    receiptDelay: 0,
    ...options,
  })
