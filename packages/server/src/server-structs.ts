import * as Y from 'yjs'
import type { DecodedUpdate } from './decode.js'

// What the server's doc holds at an update's IDs: the lookups the checks make before they judge.

export const stateOf = (doc: Y.Doc, client: number): number => Y.getState(doc.store, client)

/** The struct holding `id` in the server doc, if the server has it. */
export const serverStruct = (doc: Y.Doc, id: Y.ID): Y.Item | Y.GC | undefined => {
  if (id.clock >= stateOf(doc, id.client)) return undefined
  const structs = doc.store.clients.get(id.client)!
  return structs[Y.findIndexSS(structs, id.clock)]
}

const sameId = (a: Y.ID | null, b: Y.ID | null): boolean =>
  a === b || (a !== null && b !== null && a.client === b.client && a.clock === b.clock)

/**
 * Whether the item the server holds at `item`'s ID has the same place (origins, and map key where
 * the update names one): a resend, not other content under a reused clientID. A GC'd struct, or
 * one the ID falls inside of, cannot tell, and passes.
 */
export const sameEntry = (doc: Y.Doc, item: Y.Item): boolean => {
  const stored = serverStruct(doc, item.id)
  if (!(stored instanceof Y.Item) || stored.id.clock !== item.id.clock) return true
  return (
    sameId(stored.origin, item.origin) &&
    sameId(stored.rightOrigin, item.rightOrigin) &&
    (item.parentSub === null || stored.parentSub === item.parentSub)
  )
}

/** The clientIDs whose bindings a check of this update may consult, for prefetching. */
export const clientsOf = (decoded: DecodedUpdate, doc: Y.Doc): Set<number> => {
  const clients = new Set<number>(decoded.deletes.keys())
  const addCurrent = (map: string, key: string) => {
    const current = doc.share.get(map)?._map.get(key)
    if (current) clients.add(current.id.client)
  }
  for (const struct of decoded.structs) {
    clients.add(struct.id.client)
    if (!(struct instanceof Y.Item)) continue
    // The current value of the key an item lands on may be overwritten: its owner matters too.
    if (typeof struct.parent === 'string' && struct.parentSub !== null)
      addCurrent(struct.parent, struct.parentSub)
    for (const id of [struct.origin, struct.rightOrigin]) {
      if (!id) continue
      clients.add(id.client)
      const neighbour = serverStruct(doc, id)
      if (
        neighbour instanceof Y.Item &&
        neighbour.parentSub !== null &&
        neighbour.parent instanceof Y.AbstractType
      ) {
        if (neighbour.parent._item === null)
          addCurrent(Y.findRootTypeKey(neighbour.parent), neighbour.parentSub)
      }
    }
  }
  return clients
}
