import * as Y from 'yjs'
import { asBytes } from './records.js'

/**
 * Format markers of compressed rows: `'deflate'` (zlib, whose Adler-32 the DecompressionStream
 * checks, so a damaged row fails to inflate) for every row written now; `'deflate-raw'` (no
 * checksum) for rows written before, still read.
 */
export type Codec = 'deflate' | 'deflate-raw'
const CODECS: readonly unknown[] = ['deflate', 'deflate-raw'] satisfies Codec[]
const WRITTEN: Codec = 'deflate'

/**
 * A compacted row stored compressed. A row is either plain update bytes (every row written before
 * compression existed, and every small one) or this record: the `codec` field is the format marker.
 */
export interface PackedRow {
  readonly codec: Codec
  readonly bytes: Uint8Array
}

/** A row's value as the `updates` store holds it. */
export type StoredValue = Uint8Array | PackedRow

export const asPacked = (value: unknown): PackedRow | undefined => {
  const r = value as { codec?: unknown; bytes?: unknown } | null | undefined
  if (typeof r !== 'object' || r === null || !CODECS.includes(r.codec)) return undefined
  const bytes = asBytes(r.bytes)
  return bytes ? { codec: r.codec as Codec, bytes } : undefined
}

/** A stored value of the right shape (not yet inflated), or undefined. */
export const asStoredValue = (value: unknown): StoredValue | undefined => asBytes(value) ?? asPacked(value)

const streams = globalThis as {
  CompressionStream?: new (format: string) => TransformStream<Uint8Array, Uint8Array>
  DecompressionStream?: new (format: string) => TransformStream<Uint8Array, Uint8Array>
}

/** Whether this runtime compresses with 'deflate' (Chrome 80, Firefox 113, Safari 16.4, Node 18). */
export const canCompress = (): boolean => {
  if (!streams.CompressionStream || !streams.DecompressionStream) return false
  try {
    new streams.CompressionStream(WRITTEN)
    return true
  } catch {
    return false
  }
}

/** Whether this runtime can read compressed rows. */
export const canDecompress = (): boolean => streams.DecompressionStream !== undefined

/** Runs bytes through a (de)compression stream; the work happens off the main thread's call stack. */
const through = async (bytes: Uint8Array, stream: TransformStream<Uint8Array, Uint8Array>) =>
  new Uint8Array(
    await new Response(
      new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream),
    ).arrayBuffer(),
  )

/**
 * The value to store for a compacted update: deflated when it is at least `compressAbove` bytes,
 * the runtime has CompressionStream, and deflating saves something; else the bytes as they are.
 */
export const pack = async (update: Uint8Array, compressAbove: number | undefined): Promise<StoredValue> => {
  if (compressAbove === undefined || update.length < compressAbove || !canCompress()) return update
  const bytes = await through(update, new streams.CompressionStream!(WRITTEN))
  return bytes.length < update.length ? { codec: WRITTEN, bytes } : update
}

/**
 * The update a stored value holds; rejects when a packed row cannot be inflated (a damaged 'deflate'
 * row fails its Adler-32) or does not decode as a Yjs update (the check 'deflate-raw' rows lack),
 * or when this runtime has no DecompressionStream to read it with.
 */
export const unpack = async (value: StoredValue): Promise<Uint8Array> => {
  if (value instanceof Uint8Array) return value
  if (!streams.DecompressionStream)
    throw new Error('this runtime has no DecompressionStream to read a compressed row')
  const update = await through(value.bytes, new streams.DecompressionStream(value.codec))
  Y.decodeUpdate(update)
  return update
}
