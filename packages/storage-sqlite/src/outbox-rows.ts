import type { Lane, OutboxEntry } from '@tidings/core'
import { crc32 } from './checksum.js'
import { ownBytes } from './rows.js'
import type { OutboxColumns } from './statements.js'

/** An outbox row that failed its checks, to be quarantined. */
export interface BadOutboxRow {
  readonly key: string
  readonly doc: string
  readonly blob: Uint8Array | null
  readonly reason: string
}

const readMessages = (json: string): string[] | undefined => {
  try {
    const value = JSON.parse(json) as unknown
    return Array.isArray(value) && value.every((m) => typeof m === 'string') ? value : undefined
  } catch {
    return undefined
  }
}

/** Splits outbox rows into entries and rows whose bytes or message ids do not pass their checks. */
export const readOutboxRows = (rows: readonly OutboxColumns[]) => {
  const entries: OutboxEntry[] = []
  const bad: BadOutboxRow[] = []
  for (const row of rows) {
    const messages = readMessages(row.messages)
    const { blob } = row
    const reason = !(blob instanceof Uint8Array)
      ? 'the update is missing'
      : crc32(blob) !== row.crc
        ? 'checksum mismatch'
        : messages === undefined
          ? 'unreadable message ids'
          : undefined
    if (reason) bad.push({ key: row.key, doc: row.doc, blob, reason })
    else
      entries.push({
        key: row.key,
        doc: row.doc,
        lane: row.lane as Lane | 'meta',
        update: ownBytes(blob!),
        messages: messages!,
      })
  }
  return { entries, bad }
}
