import { promisify } from 'node:util'
import { inflateRaw, type ZlibOptions, deflate as zlibDeflate, inflate as zlibInflate } from 'node:zlib'
import { crc32 } from './checksum.js'

/**
 * How a row's blob is stored: the update as is (0), raw deflate without a trailer (1, written by
 * earlier versions, still read), or zlib deflate (2), whose Adler-32 trailer covers the inflated
 * bytes: a damaged stream that still inflates, under a checksum rewritten to fit, fails it.
 */
export const CODEC_RAW = 0
export const CODEC_DEFLATE_RAW = 1
export const CODEC_DEFLATE = 2

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

// zlib's callback forms run on libuv's thread pool: a large compacted row never blocks the event loop.
const deflate = promisify(zlibDeflate)
const inflaters: Record<number, (blob: Uint8Array, options: ZlibOptions) => Promise<Buffer>> = {
  [CODEC_DEFLATE_RAW]: promisify(inflateRaw),
  [CODEC_DEFLATE]: promisify(zlibInflate),
}

/** The largest update a compressed row may inflate to by default: 256 MiB. */
export const MAX_ROW_BYTES = 256 * 1024 * 1024

/** A plain Uint8Array copy: callers own what they get, and Buffer's quirks stay inside. */
export const ownBytes = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes)

/**
 * The checksum of a compressed row covers its codec marker too (the CRC of the blob followed by the
 * marker byte), so a changed marker fails it; a raw row's covers its bytes alone, as it always did.
 */
const checksum = (blob: Uint8Array, codec: number): number =>
  codec === CODEC_RAW ? crc32(blob) : crc32(Uint8Array.of(codec), crc32(blob))

const stored = (blob: Uint8Array, codec: number): EncodedRow => ({
  blob,
  codec,
  size: blob.length,
  crc: checksum(blob, codec),
})

/** Whether the checksum fits; deflated rows written before the marker was covered still do. */
const checksumFits = (row: RowRecord, blob: Uint8Array): boolean =>
  row.crc === checksum(blob, row.codec) || (row.codec === CODEC_DEFLATE_RAW && row.crc === crc32(blob))

/** Prepares an update for storage as is; the checksum covers the bytes as stored. */
export const encodeRow = (update: Uint8Array): EncodedRow => stored(update, CODEC_RAW)

/**
 * Prepares a compacted update: deflated on the thread pool when it is at least `compressAbove`
 * bytes and deflating saves something, else as is.
 */
export const encodeCompactedRow = async (update: Uint8Array, compressAbove?: number): Promise<EncodedRow> => {
  if (compressAbove === undefined || update.length < compressAbove) return encodeRow(update)
  const packed = await deflate(update)
  return packed.length < update.length ? stored(packed, CODEC_DEFLATE) : encodeRow(update)
}

export type DecodedRow = { update: Uint8Array } | { reason: string }

/**
 * Checks a row read back: its update, or why it cannot be trusted. Raw rows answer at once;
 * deflated ones are inflated on the thread pool, to at most `maxBytes` (a row that would inflate
 * past it, a zlib bomb, is refused before it takes the memory).
 */
export const decodeRow = (row: RowRecord, maxBytes = MAX_ROW_BYTES): DecodedRow | Promise<DecodedRow> => {
  const { blob } = row
  if (!(blob instanceof Uint8Array)) return { reason: 'the blob is missing' }
  if (blob.length !== row.size) return { reason: `truncated blob: ${blob.length} of ${row.size} bytes` }
  if (!checksumFits(row, blob)) return { reason: 'checksum mismatch' }
  if (row.codec === CODEC_RAW) return { update: ownBytes(blob) }
  const inflate = inflaters[row.codec]
  if (inflate)
    return inflate(blob, { maxOutputLength: maxBytes }).then(
      (update) => ({ update: ownBytes(update) }),
      (error: Error) => ({
        reason:
          error instanceof RangeError
            ? `the compressed blob inflates past ${maxBytes} bytes (option maxRowBytes)`
            : 'the compressed blob cannot be inflated',
      }),
    )
  return { reason: `unknown codec ${row.codec}` }
}
