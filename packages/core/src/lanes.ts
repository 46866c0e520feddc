import { TidingsError } from './errors.js'
import { type ConversationId, quote } from './ids.js'

/** Message priorities; each has a lane of its own so urgent traffic never waits behind a backlog. */
export const PRIORITIES = ['urgent', 'high', 'normal', 'low'] as const
/** A message priority, one of `PRIORITIES`. */
export type Priority = (typeof PRIORITIES)[number]

/** Every doc kind of a conversation except meta, which has no periods. */
export type Lane = Priority | 'control' | 'receipts'

/** The order in which docs sync on reconnect, and in which transports send queued frames. */
export const SYNC_ORDER = ['meta', 'urgent', 'control', 'high', 'normal', 'receipts', 'low'] as const
export type DocKind = (typeof SYNC_ORDER)[number]

/** Default period length: one week. */
export const DEFAULT_PERIOD_MS = 7 * 24 * 60 * 60 * 1000
/** Shortest period length a doc name may carry: one second. */
export const MIN_PERIOD_MS = 1000
/** Longest period length a doc name may carry: 366 days. */
export const MAX_PERIOD_MS = 366 * 24 * 60 * 60 * 1000

/** Whether `value` is a period length doc names may carry. */
export const isPeriodMs = (value: unknown): value is number =>
  Number.isSafeInteger(value) && (value as number) >= MIN_PERIOD_MS && (value as number) <= MAX_PERIOD_MS

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

/** The period a wall time falls in, for periods of `periodMs`. */
export const periodOf = (wall: number, periodMs: number): number => Math.floor(wall / periodMs)

/** A doc of a conversation, parsed from its name. */
export type DocRef =
  | { readonly conversation: ConversationId; readonly kind: 'meta'; readonly name: string }
  | {
      readonly conversation: ConversationId
      readonly kind: Lane
      readonly period: number
      /** The length of the doc's period, from its own name: every replica reads it the same way. */
      readonly periodMs: number
      readonly name: string
    }

/** A doc of a lane, control or receipts: one period of one length. */
export type PeriodRef = Extract<DocRef, { period: number }>

/** Whether a doc holds messages of a period: a lane or control doc, not meta nor receipts. */
export const isMessageDoc = (ref: DocRef): ref is PeriodRef => ref.kind !== 'meta' && ref.kind !== 'receipts'

/** The name of a conversation's meta doc: `<id>/meta`. */
export const metaDocName = (conversation: ConversationId): string => `${conversation}/meta`

/**
 * `<id>/<lane>/<period>` for the default length, `<id>/<lane>/<period>~<periodMs>` for any other.
 * The length is part of the name so that devices that chose different lengths (offline, before
 * they agreed on one) still read every doc's bounds the same way.
 */
export const laneDocName = (
  conversation: ConversationId,
  lane: Lane,
  period: number,
  periodMs: number = DEFAULT_PERIOD_MS,
): string =>
  periodMs === DEFAULT_PERIOD_MS
    ? `${conversation}/${lane}/${period}`
    : `${conversation}/${lane}/${period}~${periodMs}`

/** The name of the lane doc that holds time `wall` in periods of `periodMs`. */
export const docAt = (conversation: ConversationId, lane: Lane, wall: number, periodMs: number): string =>
  laneDocName(conversation, lane, periodOf(wall, periodMs), periodMs)

/** First ms a period doc covers. */
export const periodStart = (ref: PeriodRef): number => ref.period * ref.periodMs

/** First ms after a period doc: it is wholly before `retainedFrom` when this is at most that. */
export const periodEnd = (ref: PeriodRef): number => (ref.period + 1) * ref.periodMs

const docPattern =
  /^([A-Za-z0-9._-]{1,128})\/(?:(meta)|(urgent|high|normal|low|control|receipts)\/(0|[1-9][0-9]{0,14})(?:~([1-9][0-9]{3,10}))?)$/

/** Names parsed lately: a send parses the same few doc names several times each. */
const parsedNames = new Map<string, DocRef | undefined>()

/** Parses `<id>/meta` or `<id>/<lane>/<period>[~<periodMs>]`; undefined for any other name. */
export const parseDocName = (name: string): DocRef | undefined => {
  if (parsedNames.has(name)) return parsedNames.get(name)
  if (parsedNames.size >= 256) parsedNames.clear()
  const ref = parseName(name)
  parsedNames.set(name, ref === undefined ? undefined : Object.freeze(ref))
  return parsedNames.get(name)
}

const parseName = (name: string): DocRef | undefined => {
  const match = docPattern.exec(name)
  if (!match) return undefined
  const conversation = match[1] as ConversationId
  if (match[2]) return { conversation, kind: 'meta', name }
  const periodMs = match[5] === undefined ? DEFAULT_PERIOD_MS : Number(match[5])
  // One name per doc: the default length is never spelled out, and lengths stay in range.
  if (match[5] !== undefined && (periodMs === DEFAULT_PERIOD_MS || !isPeriodMs(periodMs))) return undefined
  return { conversation, kind: match[3] as Lane, period: Number(match[4]), periodMs, name }
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
  return (rb.kind === 'meta' ? 0 : periodStart(rb)) - (ra.kind === 'meta' ? 0 : periodStart(ra))
}
