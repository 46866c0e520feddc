import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'

/** Error codes the server answers a refused frame with. */
export type RefusalCode =
  | 'protocol/malformed'
  | 'permission/denied'
  | 'clock/skew'
  | 'retention/expired'
  | 'quota/exceeded'
  | 'auth/denied'

/** A refused frame: the code goes back to the sender in an `error` frame. */
export class Refusal extends Error {
  override readonly name = 'Refusal'

  constructor(
    readonly code: RefusalCode,
    reason: string,
    /** The update depends on structs the server lacks and may yet get: worth another try later. */
    readonly waits = false,
  ) {
    super(reason)
  }
}

/** Clocks past this are refused: no real session writes four billion structs into one doc. */
export const MAX_CLOCK = 2 ** 32

export type Struct = Y.Item | Y.GC | Y.Skip

export interface DecodedUpdate {
  readonly structs: readonly Struct[]
  /** Delete ranges by client. */
  readonly deletes: ReadonlyMap<number, readonly { readonly clock: number; readonly len: number }[]>
}

/**
 * Decodes a Yjs update in encoding V1, refusing anything else: trailing bytes (a V2 update read
 * as V1 leaves most of itself unread), a client listed twice (Yjs would apply only the last run,
 * so checks could see structs that are not the ones applied), absurd clocks, and more structs and
 * delete ranges than `maxStructs`.
 * @throws Refusal with `protocol/malformed`
 */
export const decodeUpdateV1 = (update: Uint8Array, maxStructs: number): DecodedUpdate => {
  let rest: decoding.Decoder | undefined
  // decodeUpdateV2 takes the decoder class: a subclass lets us see where reading stopped.
  class Capture extends Y.UpdateDecoderV1 {
    constructor(decoder: decoding.Decoder) {
      super(decoder)
      rest = decoder
    }
  }
  let decoded: ReturnType<typeof Y.decodeUpdateV2>
  try {
    decoded = Y.decodeUpdateV2(update, Capture)
  } catch (error) {
    throw new Refusal('protocol/malformed', `unreadable Yjs update: ${(error as Error).message}`)
  }
  if (!rest || decoding.hasContent(rest)) {
    throw new Refusal('protocol/malformed', 'not a Yjs V1 update (trailing bytes; V2 is not accepted)')
  }
  let count = decoded.structs.length
  const seen = new Set<number>()
  let current: number | undefined
  for (const struct of decoded.structs) {
    const { client, clock } = struct.id
    if (client !== current) {
      if (seen.has(client)) throw new Refusal('protocol/malformed', `client ${client} is listed twice`)
      seen.add(client)
      current = client
    }
    if (clock + struct.length > MAX_CLOCK) throw new Refusal('protocol/malformed', 'a clock out of range')
  }
  const deletes = decoded.ds.clients as Map<number, { clock: number; len: number }[]>
  for (const ranges of deletes.values()) {
    count += ranges.length
    for (const { clock, len } of ranges) {
      if (clock + len > MAX_CLOCK) throw new Refusal('protocol/malformed', 'a delete range out of range')
    }
  }
  if (count > maxStructs) {
    throw new Refusal(
      'protocol/malformed',
      `${count} structs and delete ranges exceed the cap of ${maxStructs}`,
    )
  }
  return { structs: decoded.structs, deletes }
}

/** True when a value is plain JSON: what lane docs and records may hold. */
export const isJson = (value: unknown, depth = 0): boolean => {
  if (depth > 64) return false
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true
  if (typeof value === 'number') return Number.isFinite(value)
  if (Array.isArray(value)) return value.every((v) => isJson(v, depth + 1))
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) return false
    return Object.values(value).every((v) => isJson(v, depth + 1))
  }
  return false
}
