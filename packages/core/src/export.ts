import { fromBase64, toBase64 } from 'lib0/buffer'
import * as Y from 'yjs'
import type { ClientContext } from './context.js'
import { TidingsError } from './errors.js'
import { compareSyncOrder, parseDocName } from './lanes.js'
import type { Replica } from './replica.js'
import { readKeySets } from './updates.js'

/** The first record of an export. */
export interface ExportHeader {
  readonly type: 'tidings-export'
  readonly version: 1
  readonly conversation: string
  readonly exportedBy: string
  readonly docs: number
}

/** One doc of the conversation, its whole state as a Yjs update; names are relative to the conversation. */
export interface ExportDoc {
  readonly type: 'doc'
  readonly doc: string
  readonly update: string
}

/** What `import()` reads: NDJSON text, or its lines one by one (a file stream fits). */
export type ImportSource = string | Iterable<string> | AsyncIterable<string>

/**
 * A stored doc's state as a loaded doc encodes it. Merged rows would keep the content of deleted
 * items (a deleted message's text, the edits a delete freed); applied to a doc that collects
 * garbage, that content is gone, so an export of a period not loaded holds no more than one loaded.
 */
const collected = (updates: readonly Uint8Array[]): Uint8Array => {
  const doc = new Y.Doc({ gc: true })
  try {
    doc.transact(() => {
      for (const update of updates) Y.applyUpdate(doc, update)
    })
    return Y.encodeStateAsUpdate(doc)
  } finally {
    doc.destroy()
  }
}

export async function* exportConversation(ctx: ClientContext, replica: Replica): AsyncIterable<string> {
  const names = replica.history.names().sort(compareSyncOrder)
  const header: ExportHeader = {
    type: 'tidings-export',
    version: 1,
    conversation: replica.id,
    exportedBy: ctx.device,
    docs: names.length,
  }
  yield `${JSON.stringify(header)}\n`
  const prefix = `${replica.id}/`
  for (const name of names) {
    const loaded = replica.docs.get(name)
    const update = loaded
      ? Y.encodeStateAsUpdate(loaded)
      : collected((await ctx.storage.load(name)).map((r) => r.update))
    const record: ExportDoc = { type: 'doc', doc: name.slice(prefix.length), update: toBase64(update) }
    yield `${JSON.stringify(record)}\n`
  }
}

async function* lines(source: ImportSource): AsyncIterable<string> {
  const chunks = typeof source === 'string' ? [source] : source
  let rest = ''
  for await (const chunk of chunks) {
    const parts = (rest + chunk).split('\n')
    rest = parts.pop()!
    yield* parts
  }
  yield rest
}

/**
 * Reads an export into a conversation (usually an empty one, possibly under another id). Every
 * record is parsed and checked before the first is written, so a bad file changes nothing.
 */
export async function importConversation(replica: Replica, source: ImportSource): Promise<number> {
  const docs: { doc: string; update: Uint8Array }[] = []
  let header: ExportHeader | undefined
  let n = 0
  const refuse = (reason: string, cause?: unknown): never => {
    throw new TidingsError('import/invalid', `Import line ${n}: ${reason}`, { subject: String(n), cause })
  }
  for await (const line of lines(source)) {
    n++
    if (line.trim() === '') continue
    let record: Partial<ExportHeader> | Partial<ExportDoc>
    try {
      record = JSON.parse(line)
    } catch (cause) {
      refuse('not JSON.', cause)
    }
    if (!header) {
      const h = record! as ExportHeader
      if (h.type !== 'tidings-export' || h.version !== 1) refuse('not a Tidings export (version 1) header.')
      header = h
      continue
    }
    const r = record! as ExportDoc
    if (r.type !== 'doc' || typeof r.doc !== 'string' || typeof r.update !== 'string')
      refuse('not a doc record.')
    const doc = `${replica.id}/${r.doc}`
    if (!parseDocName(doc)) refuse(`${JSON.stringify(r.doc)} is not a doc name.`)
    try {
      const update = fromBase64(r.update)
      readKeySets(update)
      docs.push({ doc, update })
    } catch (cause) {
      refuse(`the update of ${r.doc} is not a readable Yjs update.`, cause)
    }
  }
  if (!header) refuse('the export is empty.')
  if (header!.docs !== docs.length)
    refuse(`the header announces ${header!.docs} docs but ${docs.length} follow.`)
  // Imported as if written here: into the outbox too, so peers get it while online.
  for (const { doc, update } of docs) await replica.receive(doc, update, true)
  return docs.length
}
