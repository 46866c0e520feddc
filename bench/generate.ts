import type { StorageAdapter, UpdateWrite } from '@tidings/core'
import * as Y from 'yjs'
import { DEVICE, messageKey, messageRecord, USER } from './workload.js'

/** How a generated conversation is laid out in storage. */
export interface Layout {
  readonly label: string
  readonly messages: number
  readonly perPeriod: number
  /**
   * `per-message`: one stored update per message, as a device that sent them all and never
   * compacted holds them; `per-period`: one merged update per period doc, as after compaction.
   */
  readonly rows: 'per-message' | 'per-period'
}

export interface Generated {
  readonly docs: number
  readonly rows: number
  readonly bytes: number
  /** Seq of the newest message: its id is `<DEVICE>.<newest>`. */
  readonly newest: number
}

const randomClientId = () => Math.floor(Math.random() * 0x1_0000_0000) >>> 0 || 1

/**
 * Writes a conversation straight into storage in Tidings' doc layout, far faster than sending
 * every message: `<id>/meta` (settings.periodMs, devices) and `<id>/normal/<period>`, each a root
 * Y.Map `m` keyed `<device>.<seq>` holding the message record. The newest period is the last full
 * one before now, so no stamp is in the future; stamps are spread evenly over their period.
 */
export const generateConversation = async (
  storage: StorageAdapter,
  conversation: string,
  layout: Layout,
  periodMs: number,
): Promise<Generated> => {
  const periods = Math.ceil(layout.messages / layout.perPeriod)
  const lastPeriod = Math.floor(Date.now() / periodMs) - 1
  let seq = 0
  let rows = 0
  let bytes = 0
  let last = { wall: 0, counter: 0 }
  for (let p = 0; p < periods; p++) {
    const period = lastPeriod - periods + 1 + p
    const count = Math.min(layout.perPeriod, layout.messages - seq)
    const spacing = Math.floor(periodMs / count)
    const doc = new Y.Doc()
    doc.clientID = randomClientId()
    const map = doc.getMap<unknown>('m')
    const updates: UpdateWrite[] = []
    const name = `${conversation}/normal/${period}`
    if (layout.rows === 'per-message') {
      let pending: Uint8Array | undefined
      doc.on('update', (update: Uint8Array) => {
        pending = update
      })
      for (let k = 0; k < count; k++) {
        const wall = period * periodMs + k * spacing
        seq++
        doc.transact(() => map.set(messageKey(seq), messageRecord(seq, wall)))
        updates.push({ doc: name, update: pending!, messages: 1, newest: wall })
      }
    } else {
      doc.transact(() => {
        for (let k = 0; k < count; k++) {
          seq++
          map.set(messageKey(seq), messageRecord(seq, period * periodMs + k * spacing))
        }
      })
      const newest = period * periodMs + (count - 1) * spacing
      updates.push({ doc: name, update: Y.encodeStateAsUpdate(doc), messages: count, newest })
    }
    last = { wall: period * periodMs + (count - 1) * spacing, counter: 0 }
    doc.destroy()
    await storage.write({ updates })
    rows += updates.length
    for (const u of updates) bytes += u.update.length
  }
  const meta = new Y.Doc()
  meta.clientID = randomClientId()
  meta.transact(() => {
    meta.getMap('settings').set('periodMs', periodMs)
    meta.getMap('devices').set(DEVICE, USER)
  })
  const metaUpdate = Y.encodeStateAsUpdate(meta)
  meta.destroy()
  // The writer's own keys: reopening is this device restarting, not a new device joining.
  await storage.write({
    updates: [{ doc: `${conversation}/meta`, update: metaUpdate }],
    meta: { device: DEVICE, seq: String(seq), clock: JSON.stringify(last) },
  })
  return { docs: periods + 1, rows: rows + 1, bytes: bytes + metaUpdate.length, newest: seq }
}
