import * as zlib from 'node:zlib'

let table: Uint32Array | undefined

/** CRC-32 (IEEE) in plain JS, for runtimes whose zlib lacks `crc32` (Node before 20.15, older Electron). */
export const crc32Fallback = (data: Uint8Array): number => {
  if (!table) {
    table = new Uint32Array(256)
    for (let i = 0; i < 256; i++) {
      let c = i
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      table[i] = c >>> 0
    }
  }
  let crc = 0xffffffff
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32

/** CRC-32 of a stored blob; zlib's native one when the runtime has it. */
export const crc32: (data: Uint8Array) => number = native ?? crc32Fallback
