import * as encoding from 'lib0/encoding'

/**
 * Hand-written Yjs V1 updates, as a hostile client would send them: Yjs itself never produces
 * these shapes from a Tidings doc.
 */

/**
 * An update that only deletes `[clock, clock + length)` of `client`: beyond the client's state it
 * is a pre-delete, waiting in every receiver's doc for the items that client writes next.
 */
export const deleteOnly = (client: number, clock: number, length: number): Uint8Array => {
  const e = encoding.createEncoder()
  // No structs; a delete set of one client with one range.
  for (const n of [0, 1, client, 1, clock, length]) encoding.writeVarUint(e, n)
  return encoding.toUint8Array(e)
}

/** `perClient` GC structs (length 1 each) under each of `clients`, starting at clock 0. */
export const gcStructs = (clients: readonly number[], perClient = 1): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, clients.length)
  for (const client of clients) {
    encoding.writeVarUint(e, perClient)
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, 0)
    for (let i = 0; i < perClient; i++) {
      encoding.writeUint8(e, 0) // info 0: a GC struct
      encoding.writeVarUint(e, 1)
    }
  }
  encoding.writeVarUint(e, 0) // no delete set
  return encoding.toUint8Array(e)
}

/**
 * A chain of `length` items of one client on the key `key` of root map `m`, each after the one
 * before (deleted content), the last one holding `last`: a check must walk the whole chain to
 * place it, and refuses it only there.
 */
export const itemChain = (client: number, length: number, key: string, last: unknown): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, length)
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, 0)
  // The first item: no origins, so parent info follows (a root type named 'm') and a parentSub.
  encoding.writeUint8(e, 1 | 0x20) // ContentDeleted, with parentSub
  encoding.writeVarUint(e, 1)
  encoding.writeVarString(e, 'm')
  encoding.writeVarString(e, key)
  encoding.writeVarUint(e, 1)
  for (let clock = 1; clock < length; clock++) {
    const isLast = clock === length - 1
    encoding.writeUint8(e, 0x80 | (isLast ? 8 : 1)) // origin follows; ContentAny or ContentDeleted
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, clock - 1)
    encoding.writeVarUint(e, 1)
    if (isLast) encoding.writeAny(e, last as never)
  }
  encoding.writeVarUint(e, 0)
  return encoding.toUint8Array(e)
}
