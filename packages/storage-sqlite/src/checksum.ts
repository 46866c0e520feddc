import * as zlib from 'node:zlib'

let table: Uint32Array | undefined

/**
 * CRC-32 (IEEE) in plain JS, for runtimes whose zlib lacks `crc32` (Node before 20.15, older
 * Electron). `value` continues a CRC already computed, as zlib's does: crc(a ++ b) = crc(b, crc(a)).
 */
export const crc32Fallback = (data: Uint8Array, value = 0): number => {
  if (!table) {
    table = new Uint32Array(256)
    for (let i = 0; i < 256; i++) {
      let c = i
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      table[i] = c >>> 0
    }
  }
  let crc = (value ^ 0xffffffff) >>> 0
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

type Crc32 = (data: Uint8Array, value?: number) => number
const native = (zlib as { crc32?: Crc32 }).crc32

/** CRC-32 of a stored blob (continuing `value`); zlib's native one when the runtime has it. */
export const crc32: Crc32 = native ?? crc32Fallback
