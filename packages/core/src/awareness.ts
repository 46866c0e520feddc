import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { TidingsError } from './errors.js'

/** One entry of a y-protocols awareness update: a client id's state (null: gone) at its clock. */
export interface AwarenessEntry {
  readonly client: number
  readonly clock: number
  readonly state: Readonly<Record<string, unknown>> | null
}

/** Encodes entries as `y-protocols/awareness` does (`encodeAwarenessUpdate`). */
export const encodeAwareness = (entries: readonly AwarenessEntry[]): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, entries.length)
  for (const { client, clock, state } of entries) {
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, clock)
    encoding.writeVarString(e, JSON.stringify(state))
  }
  return encoding.toUint8Array(e)
}

/**
 * Reads a y-protocols awareness update.
 * @throws TidingsError `protocol/malformed` when it is unreadable, has trailing bytes, or holds a
 * state that is neither an object nor null.
 */
export const decodeAwareness = (update: Uint8Array): AwarenessEntry[] => {
  try {
    const d = decoding.createDecoder(update)
    const entries: AwarenessEntry[] = []
    for (let n = decoding.readVarUint(d); n > 0; n--) {
      const client = decoding.readVarUint(d)
      const clock = decoding.readVarUint(d)
      const state: unknown = JSON.parse(decoding.readVarString(d))
      if (state !== null && (typeof state !== 'object' || Array.isArray(state)))
        throw new Error(`the state of client ${client} is not an object`)
      entries.push({ client, clock, state: state as AwarenessEntry['state'] })
    }
    if (decoding.hasContent(d)) throw new Error('trailing bytes')
    return entries
  } catch (cause) {
    throw new TidingsError('protocol/malformed', `Unreadable awareness update: ${(cause as Error).message}`, {
      cause,
    })
  }
}

/**
 * Whether an entry replaces what is known at `clock` (y-protocols' rule): a newer clock, or a
 * removal at the same clock of a state still held.
 */
export const isNewer = (entry: AwarenessEntry, clock: number | undefined, held: boolean): boolean =>
  clock === undefined || entry.clock > clock || (entry.clock === clock && entry.state === null && held)
