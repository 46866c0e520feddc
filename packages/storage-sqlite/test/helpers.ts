import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'

/** A fresh folder under the OS temp dir per test, removed after it. */
export const useTempDir = () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  })
  return (name = 'store.db') => {
    const dir = mkdtempSync(join(tmpdir(), 'tidings-sqlite-'))
    dirs.push(dir)
    return join(dir, name)
  }
}

/** Bytes the database takes on disk: the file and its WAL. */
export const diskSize = (path: string): number => {
  const size = (file: string) => {
    try {
      return statSync(file).size
    } catch {
      return 0
    }
  }
  return size(path) + size(`${path}-wal`)
}

/** Deterministic bytes that do not compress, for size tests. */
export const noise = (length: number, seed = 1): Uint8Array => {
  const bytes = new Uint8Array(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    bytes[i] = x & 0xff
  }
  return bytes
}

export const bytes = (...values: number[]) => new Uint8Array(values)
