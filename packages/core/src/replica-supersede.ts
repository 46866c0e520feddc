import type * as Y from 'yjs'
import type { OutboxEntry } from './storage.js'
import { updateSince } from './updates.js'

/**
 * The one entry that replaces a doc's unsent entries `unsent` (see `LocalChange.supersede`): every
 * change since them, `update` (this change's, if it changed anything) included, with the messages
 * of all of them that the doc still holds. Undefined when nothing of them is left to send.
 * @remarks This change's own structs count as unsent too: after a restart the doc writes under a
 * fresh clientID that no replaced entry names, and an overwrite left out would reach the server as
 * the bare deletion of the value it replaces.
 */
export const supersedingEntry = (
  ydoc: Y.Doc,
  unsent: readonly OutboxEntry[],
  update: Uint8Array | undefined,
  messages: readonly string[],
): { update: Uint8Array; messages: string[] } | undefined => {
  const updates = unsent.map((e) => e.update)
  const since = updateSince(ydoc, update ? [...updates, update] : updates)
  if (!since) return undefined
  // The messages of the replaced entries still in the doc stay pending with the new one.
  const m = ydoc.share.get('m')
  const ids = new Set([...unsent.flatMap((e) => e.messages), ...messages])
  return { update: since, messages: [...ids].filter((id) => m?._map.get(id)?.deleted === false) }
}
