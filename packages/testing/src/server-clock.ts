import {
  type ErrorCode,
  isEmptyUpdate,
  isStamp,
  type LoopbackOptions,
  MAX_DRIFT,
  type OutgoingUpdate,
  parseDocName,
  periodStart,
  readKeySets,
} from '@tidings/core'

/** Root maps whose new values carry a `stamp` the server bounds, by doc kind (server rules.ts). */
const stamped = (kind: string, map: string): boolean =>
  kind === 'control' ? map === 'c' : kind === 'meta' ? map === 'pinEdits' : kind !== 'receipts' && map === 'm'

/**
 * The server's clock check, as `@tidings/server` makes it: an update to a period that starts
 * beyond server time + MAX_DRIFT, or one adding a message, edit or pin edit stamped beyond it,
 * is refused with `clock/skew`. New values are found against the hub's own copy of the doc, so an
 * overwrite (a second edit) is checked even when the value it replaces is not in the update.
 */
export const skewCheck =
  (now: () => number, stored: (doc: string) => Uint8Array | undefined) =>
  (update: OutgoingUpdate): ErrorCode | undefined => {
    const ref = parseDocName(update.doc)
    if (!ref || isEmptyUpdate(update.update)) return undefined
    const bound = now() + MAX_DRIFT
    if (ref.kind !== 'meta' && periodStart(ref) > bound) return 'clock/skew'
    for (const { map, value } of readKeySets(update.update, stored(update.doc))) {
      if (!stamped(ref.kind, map)) continue
      const stamp = (value as { stamp?: unknown } | null)?.stamp
      if (isStamp(stamp) && stamp.wall > bound) return 'clock/skew'
    }
    return undefined
  }

/** The skew check first, as the server's, then the test's own check. */
export const withSkewCheck =
  (
    skew: ReturnType<typeof skewCheck>,
    accept: LoopbackOptions['accept'],
  ): NonNullable<LoopbackOptions['accept']> =>
  (update, session) =>
    skew(update) ?? accept?.(update, session)
