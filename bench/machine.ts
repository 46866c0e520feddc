import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import * as os from 'node:os'
import { join } from 'node:path'

const require = createRequire(import.meta.url)

const cpuModel = (): string => {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8')
    const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]
    if (model) return model.trim()
  } catch {}
  return os.cpus()[0]?.model ?? 'unknown'
}

// Read package.json from disk: not every package exports it.
const versionOf = (name: string): string => {
  for (const dir of require.resolve.paths(name) ?? []) {
    const file = join(dir, name, 'package.json')
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
  }
  return 'unknown'
}

/** The machine and library versions, as lines for RESULTS.md. */
export const describeMachine = (): string[] => [
  `node ${process.version} (V8 ${process.versions.v8}) on ${os.type()} ${os.release()} ${os.arch()}`,
  `CPU: ${cpuModel()}, ${os.availableParallelism()} cores available`,
  `memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB total`,
  `libraries: yjs ${versionOf('yjs')}, @automerge/automerge ${versionOf('@automerge/automerge')}, ` +
    `loro-crdt ${versionOf('loro-crdt')}, better-sqlite3 ${versionOf('better-sqlite3')}`,
]
