import { deflateRawSync, inflateRawSync } from 'node:zlib'
import { crc32 } from './checksum.js'

/** How a row's blob is stored: the update as is, or deflated (raw, no zlib header). */
export const CODEC_RAW = 0
export const CODEC_DEFLATE_RAW = 1

/** A row as the `updates` table holds it. */
export interface RowRecord {
  readonly n: number
  readonly blob: Uint8Array | null
  readonly codec: number
  readonly size: number
  readonly crc: number
}

export interface EncodedRow {
  readonly blob: Uint8Array
  readonly codec: number
  readonly size: number
  readonly crc: number
}

/** A plain Uint8Array copy: callers own what they get, and Buffer's quirks stay inside. */
export const ownBytes = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes)

/**
 * Prepares an update for storage. Deflates it when it is at least `compressAbove` bytes and
 * deflating saves something; the checksum covers the bytes as stored.
 */
export const encodeRow = (update: Uint8Array, compressAbove?: number): EncodedRow => {
  let blob = update
  let codec = CODEC_RAW
  if (compressAbove !== undefined && update.length >= compressAbove) {
    const packed = deflateRawSync(update)
    if (packed.length < update.length) {
      blob = packed
      codec = CODEC_DEFLATE_RAW
    }
  }
  return { blob, codec, size: blob.length, crc: crc32(blob) }
}

/** Checks a row read back: its update, or why it cannot be trusted. */
export const decodeRow = (row: RowRecord): { update: Uint8Array } | { reason: string } => {
  const { blob } = row
  if (!(blob instanceof Uint8Array)) return { reason: 'the blob is missing' }
  if (blob.length !== row.size) return { reason: `truncated blob: ${blob.length} of ${row.size} bytes` }
  if (crc32(blob) !== row.crc) return { reason: 'checksum mismatch' }
  if (row.codec === CODEC_RAW) return { update: ownBytes(blob) }
  if (row.codec === CODEC_DEFLATE_RAW) {
    try {
      return { update: ownBytes(inflateRawSync(blob)) }
    } catch {
      return { reason: 'the compressed blob cannot be inflated' }
    }
  }
  return { reason: `unknown codec ${row.codec}` }
}
