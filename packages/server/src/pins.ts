import {
  type ControlRecord,
  laneDocName,
  type MessageHeader,
  type MessageRecord,
  periodOf,
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

/** The lane and control docs that hold the message a pin snapshot names. */
const docsOf = (conversation: string, header: MessageHeader, periodMs: number): [string, string] => {
  const period = periodOf(header.stamp.wall, periodMs)
  return [
    laneDocName(conversation as never, header.priority, period),
    laneDocName(conversation as never, 'control', period),
  ]
}

/**
 * The docs a meta update's pin snapshots must be checked against, to load before the check. Only
 * docs that exist: a pin of a message in a doc the server never stored is refused unloaded.
 */
export const pinDocs = (decoded: DecodedUpdate, state: ConversationState, periodMs: number): Set<string> => {
  const names = new Set<string>()
  for (const struct of decoded.structs) {
    if (!(struct instanceof Y.Item) || !(struct.content instanceof Y.ContentAny)) continue
    const value = struct.content.arr[struct.content.arr.length - 1]
    // Overwrites carry no parent or key in the encoding: any value shaped like a pin counts.
    const device = (value as { header?: { device?: unknown } } | null)?.header?.device
    const pin = typeof device === 'string' ? readPinRecord(`${device}.1`, value) : undefined
    if (!pin) continue
    for (const name of docsOf(state.id, pin.header, periodMs)) if (state.docs.has(name)) names.add(name)
  }
  return names
}

/**
 * Looks a message up in the server's loaded docs: its lane record, and the records its author's
 * devices (as meta `devices` maps them) wrote in control.
 */
export const storedMessageLookup =
  (conversation: string, meta: Y.Doc, periodMs: number, peek: (doc: string) => Y.Doc | undefined) =>
  (id: string, header: MessageHeader): StoredMessage => {
    const [laneName, controlName] = docsOf(conversation, header, periodMs)
    const lane = peek(laneName)
    const control = peek(controlName)
    const record = lane ? readMessageRecord(id, mapValue(lane, 'm', id)) : undefined
    const edits: ControlRecord[] = []
    if (control) {
      for (const [device, item] of meta.share.get('devices')?._map ?? []) {
        const user = item.deleted ? undefined : item.content.getContent().at(-1)
        if (user !== header.author) continue
        const edit = readControlRecord(mapValue(control, 'c', `${id}/${device}`))
        if (edit) edits.push(edit)
      }
    }
    return { record, edits }
  }
