import { type DocRef, MAX_DRIFT, type MessageHeader, periodEnd, periodStart } from '@tidings/core'
import * as Y from 'yjs'
import { type DecodedUpdate, decodeUpdateV1, Refusal, type Struct } from './decode.js'

import type { StoredMessage } from './pins.js'
import { checkEntry, LAYOUT_SETTINGS, type RuleContext, type Sender } from './rules.js'
import { sameEntry, serverStruct, stateOf } from './server-structs.js'

/** Everything a check needs, all of it from the server's own state. */
export interface CheckContext {
  /** The server's doc, the reference for every check. */
  readonly doc: Y.Doc
  /** The parsed doc name; undefined for an app's own doc on the y-websocket path. */
  readonly ref: DocRef | undefined
  readonly sender: Sender
  /** The user a clientID is bound to in this conversation (committed or staged). */
  readonly owner: (client: number) => string | undefined
  /** The user a device belongs to, from the conversation's meta doc. */
  readonly deviceOwner: (device: string) => string | undefined
  readonly retainedFrom: number
  /** The highest retention value a client may write now (see `RuleContext.retentionLimit`). */
  readonly retentionLimit: number
  readonly now: number
  readonly maxStructs: number
  /** A message as the server stores it, to check pin snapshots against (meta updates). */
  readonly storedMessage?: (id: string, header: MessageHeader) => StoredMessage
  /**
   * The user whose presence uses this clientID in the conversation, if any. Stock y-websocket
   * clients publish presence under their doc's clientID before they write: another user must not
   * bind that id first and lock its owner's writes out.
   */
  readonly presenceOwner?: (client: number) => string | undefined
}

export interface CheckResult {
  /** False when the update holds nothing the server lacks: nothing to store or forward. */
  readonly effective: boolean
  /**
   * Some structs of the update were stored already under a clientID that is not the sender's
   * user's (another user's, or unbound), or hold another entry at those IDs (a session that drew a
   * clientID its own user used before). They are skipped as known, but the sender's copy of them
   * was not stored: an `update` frame like this must never be acked (the session would see its
   * message "sent" while the server holds other content).
   */
  readonly foreign: boolean
  /**
   * Some structs of the update are stored already (a resend after a lost ack, a merged frame
   * overlapping an earlier one): only the rest is new, to store and forward.
   */
  readonly overlap: boolean
  /** clientIDs this update binds to the sender's user. */
  readonly bindings: ReadonlyMap<number, string>
  /** New message keys, for storage's per-doc counts. */
  readonly messages: number
  /** Newest message stamp wall time, 0 when none. */
  readonly newest: number
}

/**
 * Where a map entry lives: a root map name and key, or 'gc' when Yjs will garbage-collect it.
 * `deletedChecked` marks that a deletion of this entry passed the rules (one object per chain).
 */
type Placement = { readonly map: string; readonly key: string; deletedChecked?: boolean } | 'gc'

/**
 * Checks an update against the server's doc without changing anything.
 * @throws Refusal naming the first rule it breaks
 */
export const checkUpdate = (update: Uint8Array, ctx: CheckContext): CheckResult => {
  const decoded = decodeUpdateV1(update, ctx.maxStructs, { gc: ctx.ref === undefined })
  return checkDecoded(decoded, ctx)
}

/** `checkUpdate` for an update decoded already (to prefetch its bindings first). */
export const checkDecoded = (decoded: DecodedUpdate, ctx: CheckContext): CheckResult => {
  const { doc, ref, sender } = ctx
  const tidings = ref !== undefined
  if (ref && ref.kind !== 'meta' && (decoded.structs.length > 0 || decoded.deletes.size > 0)) {
    // First: a dropped doc has no state left to check against. Bounds come from the doc's name.
    if (periodEnd(ref) <= ctx.retainedFrom) {
      throw new Refusal('retention/expired', `${ref.name} is older than the conversation retains`)
    }
    if (periodStart(ref) > ctx.now + MAX_DRIFT) {
      throw new Refusal('clock/skew', `${ref.name} is a period in the future`)
    }
  }
  // Per client, the clock up to which the server has structs once this update is applied.
  const ends = new Map<number, number>()
  const known = (client: number) => ends.get(client) ?? stateOf(doc, client)
  const fresh: Struct[] = []
  /** Per client, indices into `fresh` in clock order. */
  const inUpdate = new Map<number, number[]>()
  const stale = new Set<number>()
  /** Some struct lands on IDs the server holds with another entry: a reused clientID. */
  let clash = false
  for (const struct of decoded.structs) {
    const { client, clock } = struct.id
    const end = known(client)
    if (struct instanceof Y.Skip) continue
    if (clock > end) {
      // A gap: another user's clientID is refused at once; the sender's own may await a retry.
      if (!mayBeOwn(ctx, client))
        throw new Refusal('permission/denied', `clientID ${client} belongs to another user`)
      throw new Refusal(
        'protocol/malformed',
        `structs of client ${client} start past the server's state`,
        true,
      )
    }
    ends.set(client, Math.max(end, clock + struct.length))
    if (clock < stateOf(doc, client) && struct instanceof Y.Item && !sameEntry(doc, struct)) clash = true
    if (clock + struct.length <= stateOf(doc, client)) {
      stale.add(client)
      continue
    }
    const list = inUpdate.get(client) ?? []
    list.push(fresh.length)
    inUpdate.set(client, list)
    fresh.push(struct)
  }
  const has = (id: Y.ID) => id.clock < known(id.client)
  /** The index in `fresh` of the struct of this update holding `id`, or -1. */
  const updateIndex = (id: Y.ID): number => {
    const list = inUpdate.get(id.client)
    if (!list) return -1
    let lo = 0
    let hi = list.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const index = list[mid]!
      const s = fresh[index]!
      if (id.clock < s.id.clock) hi = mid - 1
      else if (id.clock >= s.id.clock + s.length) lo = mid + 1
      else return index
    }
    return -1
  }

  // Deletions: nothing the server has not seen, and only live items count as an effect.
  const targets: Y.Item[] = []
  for (const [client, ranges] of decoded.deletes) {
    const state = stateOf(doc, client)
    for (const { clock, len } of mergeRanges(ranges)) {
      if (clock + len > known(client)) {
        // The pre-delete attack: deleting what the server has not seen. Only the sender's own
        // structs may still be on their way; anyone else's is refused now.
        const reason = `deletes structs of client ${client} the server has not seen`
        throw new Refusal('permission/denied', reason, mayBeOwn(ctx, client))
      }
      const end = Math.min(clock + len, state)
      if (clock >= end) continue
      const structs = doc.store.clients.get(client)!
      for (let i = Y.findIndexSS(structs, clock); i < structs.length; i++) {
        const struct = structs[i]!
        if (struct.id.clock >= end) break
        if (struct instanceof Y.Item && !struct.deleted) targets.push(struct)
      }
    }
  }
  const effective = fresh.length > 0 || targets.length > 0
  const overlap = stale.size > 0 || fresh.some((s) => s.id.clock < stateOf(doc, s.id.client))
  const bindings = new Map<number, string>()
  const foreign = tidings && (clash || [...stale].some((client) => ctx.owner(client) !== sender.userId))
  if (!effective) return { effective, foreign, overlap, bindings, messages: 0, newest: 0 }
  if (!sender.canWrite) throw new Refusal('permission/denied', 'this user may not write the conversation')
  if (!tidings) {
    for (const struct of fresh) if (struct instanceof Y.Item) requireDependencies(struct, has)
    return { effective, foreign, overlap, bindings, messages: 0, newest: 0 }
  }

  const isOwn = (client: number) => (bindings.get(client) ?? ctx.owner(client)) === sender.userId
  for (const struct of fresh) {
    const owner =
      bindings.get(struct.id.client) ?? ctx.owner(struct.id.client) ?? claimedByOther(ctx, struct.id.client)
    if (owner === undefined) bindings.set(struct.id.client, sender.userId)
    else if (owner !== sender.userId) {
      throw new Refusal('permission/denied', `clientID ${struct.id.client} belongs to another user`)
    }
  }
  const rules: RuleContext = {
    sender,
    deviceOwner: ctx.deviceOwner,
    now: ctx.now,
    retentionLimit: ctx.retentionLimit,
    ...(ctx.storedMessage ? { storedMessage: ctx.storedMessage } : {}),
  }
  // Indexed like `fresh`: structs as map keys cost a hash each, and ten thousand of them show.
  const placements: (Placement | undefined)[] = new Array(fresh.length)
  /**
   * One step of the walk from an item towards the root-map entry it lands on: a placement, or the
   * index of the item of this update it takes its parent from. Yjs takes the parent from the left
   * neighbour, else the right one; a GC neighbour makes a GC.
   */
  const step = (item: Y.Item): Placement | number => {
    const parent = item.parent as unknown
    if (item.origin === null && item.rightOrigin === null) {
      if (typeof parent !== 'string' || item.parentSub === null) {
        throw new Refusal('permission/denied', 'Tidings docs hold only entries of root maps')
      }
      return { map: parent, key: item.parentSub }
    }
    let fromIndex = -1
    let from: Struct | undefined
    for (const id of [item.origin, item.rightOrigin]) {
      if (id === null) continue
      let struct: Struct | undefined = serverStruct(doc, id)
      let index = -1
      if (struct === undefined) {
        index = updateIndex(id)
        struct = index < 0 ? undefined : fresh[index]
      }
      if (struct instanceof Y.GC) return 'gc'
      if (id === (item.origin ?? item.rightOrigin)) {
        from = struct
        fromIndex = index
      }
    }
    if (!(from instanceof Y.Item)) throw new Refusal('protocol/malformed', 'an origin the server lacks', true)
    if (from.parent === null || typeof from.parent === 'string' || from.parent instanceof Y.ID) {
      // An item of this update (parent info as decoded), or a dangling one: follow its placement.
      if (fromIndex >= 0) return fromIndex
      throw new Refusal('permission/denied', 'Tidings docs hold only entries of root maps')
    }
    const type = from.parent as Y.AbstractType<unknown>
    if (type._item !== null || from.parentSub === null) {
      throw new Refusal('permission/denied', 'Tidings docs hold only entries of root maps')
    }
    return { map: Y.findRootTypeKey(type), key: from.parentSub }
  }
  /**
   * Follows the chain iteratively and remembers the answer for every item on it, so a chain of
   * n items costs O(n) in all (a recursive walk per item was quadratic, and deep).
   */
  const chain: number[] = []
  const place = (index: number): Placement => {
    const known = placements[index]
    if (known) return known
    chain.length = 0
    let current = index
    let placement: Placement | undefined
    while (placement === undefined) {
      // Longer than the update itself: the chain runs in a cycle.
      if (chain.length > fresh.length) throw new Refusal('protocol/malformed', 'an origin cycle')
      chain.push(current)
      const next = step(fresh[current] as Y.Item)
      if (typeof next === 'number') {
        current = next
        placement = placements[current]
      } else placement = next
    }
    for (const link of chain) placements[link] = placement
    return placement
  }

  let messages = 0
  let newest = 0
  for (let index = 0; index < fresh.length; index++) {
    const struct = fresh[index]!
    if (!(struct instanceof Y.Item)) continue
    requireDependencies(struct, has)
    const placement = place(index)
    if (placement === 'gc') continue
    const content = struct.content
    let value: unknown
    const deleted = content instanceof Y.ContentDeleted
    if (!deleted) {
      if (!(content instanceof Y.ContentAny) || content.arr.length !== 1) {
        throw new Refusal('permission/denied', 'Tidings docs hold JSON values only')
      }
      value = content.arr[0]
    }
    // Deletions of one entry pass or fail alike: a chain of ten thousand is checked once.
    if (!deleted || !placement.deletedChecked) {
      checkEntry(ref, { map: placement.map, key: placement.key, value, deleted }, rules)
      if (deleted) placement.deletedChecked = true
    }
    checkOverwrite(ctx, ref, placement, struct, isOwn)
    if (ref.kind !== 'meta' && ref.kind !== 'control' && ref.kind !== 'receipts' && !deleted) {
      const { wall } = (value as { stamp: { wall: number } }).stamp
      // A message lives in the period of its stamp: otherwise any current message could open any
      // of the ~3,000 past periods and lengthen every subscriber's manifest.
      if (wall < periodStart(ref) || wall >= periodEnd(ref)) {
        throw new Refusal('permission/denied', `message ${placement.key} is stamped outside ${ref.name}`)
      }
      messages++
      newest = Math.max(newest, wall)
    }
  }
  for (const target of targets) {
    if (ref.kind === 'meta' && isLayoutSetting(target)) {
      throw new Refusal('permission/denied', `settings.${target.parentSub} is fixed once set`)
    }
    if (isOwn(target.id.client)) continue
    // Anyone may unpin, and a message's author frees every pin of it on delete: deleting a pin
    // removes a snapshot, it cannot forge one.
    if (ref.kind === 'meta' && rootOf(target) === 'pins') continue
    // Admins share the settings: one may replace another's value (layout ones excepted, above).
    if (ref.kind === 'meta' && rootOf(target) === 'settings' && sender.canAdmin) continue
    throw new Refusal('permission/denied', `deletes an item of another user (client ${target.id.client})`)
  }
  return { effective, foreign, overlap, bindings, messages, newest }
}

/**
 * Sorted, merged delete ranges: overlapping ranges would make the walk over the server's structs
 * repeat itself (ten thousand ranges over the same ten thousand structs).
 */
const mergeRanges = (
  ranges: readonly { readonly clock: number; readonly len: number }[],
): { clock: number; len: number }[] => {
  const sorted = ranges.filter((r) => r.len > 0).sort((a, b) => a.clock - b.clock)
  const merged: { clock: number; len: number }[] = []
  for (const { clock, len } of sorted) {
    const last = merged[merged.length - 1]
    if (last && clock <= last.clock + last.len) last.len = Math.max(last.len, clock + len - last.clock)
    else merged.push({ clock, len })
  }
  return merged
}

/** Could this clientID be the sender's? (Plain docs have no bindings: any may be.) */
const mayBeOwn = (ctx: CheckContext, client: number): boolean => {
  if (ctx.ref === undefined) return true
  const owner = ctx.owner(client) ?? claimedByOther(ctx, client)
  return owner === undefined || owner === ctx.sender.userId
}

/** Another user's presence id, which an unbound clientID must not be bound over. */
const claimedByOther = (ctx: CheckContext, client: number): string | undefined => {
  const user = ctx.presenceOwner?.(client)
  return user === ctx.sender.userId ? undefined : user
}

/** Yjs would park an item whose neighbours or parent are unknown: refuse it, or wait for them. */
const requireDependencies = (item: Y.Item, has: (id: Y.ID) => boolean): void => {
  for (const id of [item.origin, item.rightOrigin, item.parent instanceof Y.ID ? item.parent : null]) {
    if (id && !has(id)) {
      throw new Refusal(
        'protocol/malformed',
        `depends on ${id.client}:${id.clock}, which the server lacks`,
        true,
      )
    }
  }
}

/** Is this server-doc item a value of a layout setting (`settings.periodMs`)? */
const isLayoutSetting = (item: Y.Item): boolean =>
  rootOf(item) === 'settings' && item.parentSub !== null && LAYOUT_SETTINGS.includes(item.parentSub)

/** The root map name of a server-doc item, if it is a root map entry. */
const rootOf = (item: Y.Item): string | undefined => {
  const type = item.parent as Y.AbstractType<unknown> | null
  if (!type || !(type instanceof Y.AbstractType) || type._item !== null) return undefined
  return Y.findRootTypeKey(type)
}

/**
 * A new value for a key whose current value is another user's would replace it (Yjs deletes the
 * left neighbour of the winning value). Pins are no exception: each is keyed by its pinner's
 * device. Admins may replace each other's `settings`; layout settings take no second value at
 * all, not even a concurrent "first" write: Yjs resolves those by clientID, so a crafted clientID
 * (2^53-1) would always win.
 */
const checkOverwrite = (
  ctx: CheckContext,
  ref: DocRef,
  placement: { map: string; key: string },
  item: Y.Item,
  isOwn: (client: number) => boolean,
): void => {
  const current = ctx.doc.share.get(placement.map)?._map.get(placement.key)
  if (ref.kind === 'meta' && placement.map === 'settings') {
    if (LAYOUT_SETTINGS.includes(placement.key) && (current || item.origin)) {
      throw new Refusal('permission/denied', `settings.${placement.key} is fixed once set`)
    }
    if (ctx.sender.canAdmin) return
  }
  if (current && !current.deleted && !isOwn(current.id.client)) {
    throw new Refusal(
      'permission/denied',
      `overwrites ${placement.map}.${placement.key}, another user's value`,
    )
  }
  if (item.origin) {
    const origin = serverStruct(ctx.doc, item.origin)
    if (origin instanceof Y.Item && !origin.deleted && !isOwn(origin.id.client)) {
      throw new Refusal(
        'permission/denied',
        `overwrites ${placement.map}.${placement.key}, another user's value`,
      )
    }
  }
}
