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

  /** Structs and delete ranges read before the refusal: what it cost the server to reach it. */
  structs = 0
}

/** Clocks past this are refused: no real session writes four billion structs into one doc. */
export const MAX_CLOCK = 2 ** 32

export type Struct = Y.Item | Y.GC | Y.Skip

export interface DecodedUpdate {
  readonly structs: readonly Struct[]
  /** Delete ranges by client. */
  readonly deletes: ReadonlyMap<number, readonly { readonly clock: number; readonly len: number }[]>
  /** Structs plus delete ranges. */
  readonly count: number
}

/** What a decoder accepts besides the struct cap. */
export interface DecodeOptions {
  /**
   * Accept GC structs (default true). Tidings docs hold root-map entries only, whose deletions Yjs
   * keeps as items, so a client never has a GC struct to send there: one is an attempt to bind
   * clientIDs (and claim their clock ranges) without content.
   */
  readonly gc?: boolean
}

/**
 * Decodes a Yjs update in encoding V1, refusing anything else: trailing bytes (a V2 update read
 * as V1 leaves most of itself unread), a client listed twice (Yjs would apply only the last run,
 * so checks could see structs that are not the ones applied), absurd clocks, GC structs when
 * `options.gc` is false, and more structs and delete ranges than `maxStructs`.
 * @remarks The caps apply while reading: a frame of half a million structs is refused after
 * `maxStructs + 1` of them, at a cost linear in what was read, never decoded in full first.
 * @throws Refusal with `protocol/malformed`
 */
export const decodeUpdateV1 = (
  update: Uint8Array,
  maxStructs: number,
  options: DecodeOptions = {},
): DecodedUpdate => {
  let rest: decoding.Decoder | undefined
  let count = 0
  const seen = new Set<number>()
  const refuseGC = options.gc === false
  const tooMany = () =>
    new Refusal('protocol/malformed', `more structs and delete ranges than the cap of ${maxStructs}`)
  // decodeUpdateV2 takes the decoder class, and Yjs reads structs one by one through it: a
  // subclass sees where reading stopped, and counts (and refuses) as it goes.
  class Capture extends Y.UpdateDecoderV1 {
    constructor(decoder: decoding.Decoder) {
      super(decoder)
      rest = decoder
    }
    override readClient(): number {
      const client = super.readClient()
      if (seen.has(client)) throw new Refusal('protocol/malformed', `client ${client} is listed twice`)
      seen.add(client)
      if (seen.size > maxStructs) throw tooMany()
      return client
    }
    override readInfo(): number {
      if (++count > maxStructs) throw tooMany()
      const info = super.readInfo()
      // Yjs reads a struct whose low five bits are 0 as a GC (10 is a Skip).
      if (refuseGC && (info & 31) === 0) {
        throw new Refusal('protocol/malformed', 'GC structs are not accepted in Tidings docs')
      }
      return info
    }
    override readDsLen(): number {
      if (++count > maxStructs) throw tooMany()
      return super.readDsLen()
    }
  }
  let decoded: ReturnType<typeof Y.decodeUpdateV2>
  try {
    decoded = Y.decodeUpdateV2(update, Capture)
  } catch (error) {
    const refusal =
      error instanceof Refusal
        ? error
        : new Refusal('protocol/malformed', `unreadable Yjs update: ${(error as Error).message}`)
    refusal.structs = count
    throw refusal
  }
  if (!rest || decoding.hasContent(rest)) {
    throw new Refusal('protocol/malformed', 'not a Yjs V1 update (trailing bytes; V2 is not accepted)')
  }
  for (const struct of decoded.structs) {
    if (struct.id.clock + struct.length > MAX_CLOCK)
      throw new Refusal('protocol/malformed', 'a clock out of range')
  }
  const deletes = decoded.ds.clients as Map<number, { clock: number; len: number }[]>
  for (const ranges of deletes.values()) {
    for (const { clock, len } of ranges) {
      if (clock + len > MAX_CLOCK) throw new Refusal('protocol/malformed', 'a delete range out of range')
    }
  }
  return { structs: decoded.structs, deletes, count }
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
