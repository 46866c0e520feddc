import { TidingsError } from './errors.js'
import { type ConversationId, quote } from './ids.js'

/** Message priorities; each has a lane of its own so urgent traffic never waits behind a backlog. */
export const PRIORITIES = ['urgent', 'high', 'normal', 'low'] as const
export type Priority = (typeof PRIORITIES)[number]

/** Every doc kind of a conversation except meta, which has no periods. */
export type Lane = Priority | 'control' | 'receipts'

/** The order in which docs sync on reconnect, and in which transports send queued frames. */
export const SYNC_ORDER = ['meta', 'urgent', 'control', 'high', 'normal', 'receipts', 'low'] as const
export type DocKind = (typeof SYNC_ORDER)[number]

/** Default period length: one week. */
export const DEFAULT_PERIOD_MS = 7 * 24 * 60 * 60 * 1000

export const isPriority = (value: unknown): value is Priority => PRIORITIES.includes(value as Priority)

export const assertPriority = (value: unknown): Priority => {
  if (!isPriority(value)) {
    throw new TidingsError(
      'input/invalid',
      `Priority ${quote(value)} is invalid: use one of ${PRIORITIES.join(', ')}.`,
    )
  }
  return value
}

export const periodOf = (wall: number, periodMs: number): number => Math.floor(wall / periodMs)

/** A doc of a conversation, parsed from its name. */
export type DocRef =
  | { readonly conversation: ConversationId; readonly kind: 'meta'; readonly name: string }
  | {
      readonly conversation: ConversationId
      readonly kind: Lane
      readonly period: number
      readonly name: string
    }

export const metaDocName = (conversation: ConversationId): string => `${conversation}/meta`

export const laneDocName = (conversation: ConversationId, lane: Lane, period: number): string =>
  `${conversation}/${lane}/${period}`

const docPattern =
  /^([A-Za-z0-9._-]{1,128})\/(?:(meta)|(urgent|high|normal|low|control|receipts)\/(0|[1-9][0-9]{0,14}))$/

/** Parses `<id>/meta` or `<id>/<lane>/<period>`; undefined for any other name. */
export const parseDocName = (name: string): DocRef | undefined => {
  const match = docPattern.exec(name)
  if (!match) return undefined
  const conversation = match[1] as ConversationId
  if (match[2]) return { conversation, kind: 'meta', name }
  return { conversation, kind: match[3] as Lane, period: Number(match[4]), name }
}

/** Rank of a doc kind in SYNC_ORDER: lower syncs first. */
export const syncRank = (kind: DocKind): number => SYNC_ORDER.indexOf(kind)

/** Sorts doc names into sync order: by kind, then newest period first. */
export const compareSyncOrder = (a: string, b: string): number => {
  const ra = parseDocName(a)
  const rb = parseDocName(b)
  if (!ra || !rb) return ra ? -1 : rb ? 1 : a < b ? -1 : a > b ? 1 : 0
  const byKind = syncRank(ra.kind) - syncRank(rb.kind)
  if (byKind !== 0) return byKind
  return (rb.kind === 'meta' ? 0 : rb.period) - (ra.kind === 'meta' ? 0 : ra.period)
}
