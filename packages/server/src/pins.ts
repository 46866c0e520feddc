import {
  type ControlRecord,
  type MessageHeader,
  type MessageRecord,
  parseDocName,
  periodEnd,
  periodStart,
  readControlRecord,
  readMessageRecord,
  readPinRecord,
} from '@tidings/core'
import * as Y from 'yjs'
import type { ConversationState } from './conversations.js'
import { mapValue } from './conversations.js'
import type { DecodedUpdate } from './decode.js'

/** A message as the server stores it, for checking a pin's snapshot. */
export interface StoredMessage {
  /** The lane record; undefined when the message was never stored or was deleted. */
  readonly record: MessageRecord | undefined
  /** Edit and tombstone records of the message written by its author's devices. */
  readonly edits: readonly ControlRecord[]
}

/**
 * The stored lane and control docs whose period holds the message a pin snapshot names. Each doc
 * carries its own period length in its name, and devices may have chosen different lengths, so
 * every doc of the right kind that covers the stamp counts.
 */
const docsOf = (docs: Iterable<string>, header: MessageHeader): { lanes: string[]; controls: string[] } => {
  const lanes: string[] = []
  const controls: string[] = []
  for (const name of docs) {
    const ref = parseDocName(name)
    if (!ref || ref.kind === 'meta') continue
    if (header.stamp.wall < periodStart(ref) || header.stamp.wall >= periodEnd(ref)) continue
    if (ref.kind === header.priority) lanes.push(name)
    else if (ref.kind === 'control') controls.push(name)
  }
  return { lanes, controls }
}

/**
 * The docs a meta update's pin snapshots must be checked against, to load before the check. Only
 * docs that exist: a pin of a message in a doc the server never stored is refused unloaded.
 */
export const pinDocs = (decoded: DecodedUpdate, state: ConversationState): Set<string> => {
  const names = new Set<string>()
  for (const struct of decoded.structs) {
    if (!(struct instanceof Y.Item) || !(struct.content instanceof Y.ContentAny)) continue
    const value = struct.content.arr[struct.content.arr.length - 1]
    // Overwrites carry no parent or key in the encoding: any value shaped like a pin counts.
    const device = (value as { header?: { device?: unknown } } | null)?.header?.device
    const pin = typeof device === 'string' ? readPinRecord(`${device}.1`, value) : undefined
    if (!pin) continue
    const { lanes, controls } = docsOf(state.docs, pin.header)
    for (const name of [...lanes, ...controls]) names.add(name)
  }
  return names
}

/**
 * Looks a message up in the server's loaded docs: its lane record, and the records its author's
 * devices (as meta `devices` maps them) wrote in control.
 */
export const storedMessageLookup =
  (state: ConversationState, meta: Y.Doc, peek: (doc: string) => Y.Doc | undefined) =>
  (id: string, header: MessageHeader): StoredMessage => {
    const { lanes, controls } = docsOf(state.docs, header)
    let record: MessageRecord | undefined
    for (const lane of lanes.map(peek)) record ??= lane && readMessageRecord(id, mapValue(lane, 'm', id))
    const edits: ControlRecord[] = []
    for (const control of controls.map(peek)) {
      if (!control) continue
      for (const [device, item] of meta.share.get('devices')?._map ?? []) {
        const user = item.deleted ? undefined : item.content.getContent().at(-1)
        if (user !== header.author) continue
        const edit = readControlRecord(mapValue(control, 'c', `${id}/${device}`))
        if (edit) edits.push(edit)
      }
    }
    return { record, edits }
  }
