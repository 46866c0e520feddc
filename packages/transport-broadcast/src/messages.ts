import {
  type ConnectionState,
  type ConversationId,
  type DocVector,
  type ErrorCode,
  type ForwardedWrite,
  type Message,
  PRIORITIES,
  type PresenceState,
  type Priority,
  parseDocName,
} from '@tidings/core'

/** Version of the messages tabs exchange; messages of another version are ignored. */
export const VERSION = 1

/** A write a follower asks the leader's client to make on its behalf. */
export type Call = ForwardedWrite

/** What follower tabs post. `to` names the leader meant, so a stale message is not taken twice. */
export type FollowerMessage =
  | { readonly t: 'hello'; readonly from: string }
  | {
      readonly t: 'subscribe'
      readonly from: string
      readonly to: string
      readonly user: string
      readonly conversation: ConversationId
      readonly have: readonly DocVector[]
    }
  | {
      readonly t: 'unsubscribe'
      readonly from: string
      readonly to: string
      readonly conversation: ConversationId
    }
  | {
      readonly t: 'call'
      readonly from: string
      readonly to: string
      readonly user: string
      readonly id: string
      readonly conversation: ConversationId
      readonly call: Call
    }
  | {
      /** A tab's `setPresence`, for the leader's client to merge into the device's presence. */
      readonly t: 'presence'
      readonly from: string
      readonly to: string
      readonly user: string
      readonly conversation: ConversationId
      readonly state: PresenceState
    }
  | { readonly t: 'bye'; readonly from: string }

/** What the leader tab posts. Without `to` a message is for every follower. */
export type LeaderMessage =
  | {
      readonly t: 'leader'
      readonly from: string
      readonly network: ConnectionState
      /** Whose storage the leader runs: a tab of another user never follows it. */
      readonly user: string
      /** Why the leader's link is not online, and when it retries (its `client.link`). */
      readonly reason?: ErrorCode
      readonly retryInMs?: number
    }
  | {
      /** A failure of the leader's link (a refused token, an unreachable server), once each. */
      readonly t: 'link-error'
      readonly from: string
      readonly code: ErrorCode
      readonly message: string
    }
  | {
      readonly t: 'update'
      readonly from: string
      readonly to?: string
      readonly conversation: ConversationId
      readonly doc: string
      readonly update: Uint8Array
    }
  | {
      readonly t: 'synced'
      readonly from: string
      readonly to: string
      readonly conversation: ConversationId
      /** The leader's client's device: the one device of every tab, self in their presence. */
      readonly device?: string
    }
  | {
      /** Presence the leader's network link reported (stamped by the server), or a snapshot for one tab. */
      readonly t: 'awareness'
      readonly from: string
      readonly to?: string
      readonly conversation: ConversationId
      readonly update: Uint8Array
    }
  | {
      readonly t: 'pending'
      readonly from: string
      readonly conversation: ConversationId
      readonly ids: readonly string[]
    }
  | {
      readonly t: 'result'
      readonly from: string
      readonly to: string
      readonly id: string
      readonly value: Message | number | null
    }
  | {
      readonly t: 'failed'
      readonly from: string
      readonly to: string
      /** A call id, or the conversation whose subscription was refused. */
      readonly id: string
      readonly code: ErrorCode
      readonly message: string
    }
  | { readonly t: 'closing'; readonly from: string }

type Fields = Record<string, unknown>

const MAX_TEXT = 1024
const STATES: readonly string[] = ['offline', 'connecting', 'syncing', 'online']
const OPS: readonly string[] = ['send', 'edit', 'delete', 'pin', 'unpin', 'markRead', 'retain', 'import']

const isText = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_TEXT
const isConversation = (value: unknown): value is ConversationId =>
  typeof value === 'string' && /^[A-Za-z0-9._-]{1,128}$/.test(value)
const isDocOf = (doc: unknown, conversation: string): doc is string =>
  typeof doc === 'string' && parseDocName(doc)?.conversation === conversation

/** The common envelope: a plain object of this version with a sender id and a known type. */
const envelope = (data: unknown): Fields | undefined => {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined
  const fields = data as Fields
  return fields.v === VERSION && typeof fields.t === 'string' && isText(fields.from) ? fields : undefined
}

const readHave = (value: unknown, conversation: string): DocVector[] | undefined => {
  if (!Array.isArray(value) || value.length > 100_000) return undefined
  const have: DocVector[] = []
  for (const v of value as Fields[]) {
    if (typeof v !== 'object' || v === null) return undefined
    if (!isDocOf(v.doc, conversation) || !(v.stateVector instanceof Uint8Array)) return undefined
    have.push({ doc: v.doc, stateVector: v.stateVector })
  }
  return have
}

const readCall = (value: unknown): Call | undefined => {
  if (typeof value !== 'object' || value === null) return undefined
  const c = value as Fields
  if (typeof c.op !== 'string' || !OPS.includes(c.op)) return undefined
  if (c.op === 'send') {
    if (c.priority !== undefined && !PRIORITIES.includes(c.priority as Priority)) return undefined
    if (c.replyTo !== undefined && !isText(c.replyTo)) return undefined
    return {
      op: 'send',
      body: c.body,
      ...(c.priority === undefined ? {} : { priority: c.priority as Priority }),
      ...(c.replyTo === undefined ? {} : { replyTo: c.replyTo as string }),
    }
  }
  if (c.op === 'retain')
    return Number.isSafeInteger(c.wall) ? { op: 'retain', wall: c.wall as number } : undefined
  if (c.op === 'import') return typeof c.text === 'string' ? { op: 'import', text: c.text } : undefined
  if (!isText(c.id)) return undefined
  if (c.op === 'edit') return { op: 'edit', id: c.id, body: c.body }
  return { op: c.op as 'delete' | 'pin' | 'unpin' | 'markRead', id: c.id }
}

/** Reads what a follower posted; anything malformed is undefined and ignored. */
export const readFollowerMessage = (data: unknown): FollowerMessage | undefined => {
  const m = envelope(data)
  if (!m) return undefined
  const from = m.from as string
  switch (m.t) {
    case 'hello':
    case 'bye':
      return { t: m.t, from }
    case 'subscribe': {
      if (!isText(m.to) || !isText(m.user) || !isConversation(m.conversation)) return undefined
      const have = readHave(m.have, m.conversation)
      return have && { t: 'subscribe', from, to: m.to, user: m.user, conversation: m.conversation, have }
    }
    case 'unsubscribe':
      if (!isText(m.to) || !isConversation(m.conversation)) return undefined
      return { t: 'unsubscribe', from, to: m.to, conversation: m.conversation }
    case 'call': {
      if (!isText(m.to) || !isText(m.user) || !isText(m.id) || !isConversation(m.conversation))
        return undefined
      const call = readCall(m.call)
      return call && { t: 'call', from, to: m.to, user: m.user, id: m.id, conversation: m.conversation, call }
    }
    case 'presence': {
      if (!isText(m.to) || !isText(m.user) || !isConversation(m.conversation)) return undefined
      // Only the shape here: the leader's setPresence checks the fields as it does for any client.
      const state = m.state
      if (typeof state !== 'object' || state === null || Array.isArray(state)) return undefined
      return {
        t: 'presence',
        from,
        to: m.to,
        user: m.user,
        conversation: m.conversation,
        state: state as PresenceState,
      }
    }
    default:
      return undefined
  }
}

/** Reads what a leader posted; anything malformed is undefined and ignored. */
export const readLeaderMessage = (data: unknown): LeaderMessage | undefined => {
  const m = envelope(data)
  if (!m) return undefined
  const from = m.from as string
  if (m.to !== undefined && !isText(m.to)) return undefined
  switch (m.t) {
    case 'leader':
      if (!STATES.includes(m.network as string) || !isText(m.user)) return undefined
      return {
        t: 'leader',
        from,
        network: m.network as ConnectionState,
        user: m.user,
        ...(isText(m.reason) ? { reason: m.reason as ErrorCode } : {}),
        ...(typeof m.retryInMs === 'number' && m.retryInMs >= 0 ? { retryInMs: m.retryInMs } : {}),
      }
    case 'link-error':
      return isText(m.code) && typeof m.message === 'string'
        ? { t: 'link-error', from, code: m.code as ErrorCode, message: m.message }
        : undefined
    case 'closing':
      return { t: 'closing', from }
    case 'update':
      if (!isConversation(m.conversation) || !isDocOf(m.doc, m.conversation)) return undefined
      if (!(m.update instanceof Uint8Array)) return undefined
      return {
        t: 'update',
        from,
        ...(m.to === undefined ? {} : { to: m.to as string }),
        conversation: m.conversation,
        doc: m.doc,
        update: m.update,
      }
    case 'synced':
      if (!isText(m.to) || !isConversation(m.conversation)) return undefined
      if (m.device !== undefined && !isText(m.device)) return undefined
      return {
        t: 'synced',
        from,
        to: m.to,
        conversation: m.conversation,
        ...(m.device === undefined ? {} : { device: m.device }),
      }
    case 'awareness':
      if (!isConversation(m.conversation) || !(m.update instanceof Uint8Array)) return undefined
      return {
        t: 'awareness',
        from,
        ...(m.to === undefined ? {} : { to: m.to as string }),
        conversation: m.conversation,
        update: m.update,
      }
    case 'pending':
      if (!isConversation(m.conversation) || !Array.isArray(m.ids) || !m.ids.every(isText)) return undefined
      return { t: 'pending', from, conversation: m.conversation, ids: m.ids as string[] }
    case 'result': {
      if (!isText(m.to) || !isText(m.id)) return undefined
      const value = m.value as Fields | null
      // A message for a send, a count for an import, null for the other writes.
      const count = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
      if (value !== null && !count && (typeof value !== 'object' || !isText(value.id))) return undefined
      return { t: 'result', from, to: m.to, id: m.id, value: value as Message | number | null }
    }
    case 'failed':
      if (!isText(m.to) || !isText(m.id) || !isText(m.code) || typeof m.message !== 'string') return undefined
      return { t: 'failed', from, to: m.to, id: m.id, code: m.code as ErrorCode, message: m.message }
    default:
      return undefined
  }
}
