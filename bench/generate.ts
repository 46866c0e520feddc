import type { OutboxEntry, StorageAdapter, UpdateWrite } from '@tidings/core'
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
  /** Period length in ms (default: Tidings' default, 7 days). */
  readonly periodMs?: number
  /** Every message also waits in the outbox, one entry per send (written offline, never acknowledged). */
  readonly unsent?: boolean
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
 * `unsent`: each message's update is also an outbox entry, as `send()` leaves it while offline.
 */
export const generateConversation = async (
  storage: Pick<StorageAdapter, 'write'>,
  conversation: string,
  layout: Layout,
  defaultPeriodMs: number,
): Promise<Generated> => {
  const periodMs = layout.periodMs ?? defaultPeriodMs
  const periods = Math.ceil(layout.messages / layout.perPeriod)
  const lastPeriod = Math.floor(Date.now() / periodMs) - 1
  const suffix = periodMs === defaultPeriodMs ? '' : `~${periodMs}`
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
    const outbox: OutboxEntry[] = []
    const name = `${conversation}/normal/${period}${suffix}`
    if (layout.rows === 'per-message' || layout.unsent) {
      let pending: Uint8Array | undefined
      doc.on('update', (update: Uint8Array) => {
        pending = update
      })
      for (let k = 0; k < count; k++) {
        const wall = period * periodMs + k * spacing
        seq++
        doc.transact(() => map.set(messageKey(seq), messageRecord(seq, wall)))
        if (layout.rows === 'per-message')
          updates.push({ doc: name, update: pending!, messages: 1, newest: wall })
        if (layout.unsent) {
          const key = `${DEVICE}:${seq}`
          outbox.push({ key, doc: name, lane: 'normal', update: pending!, messages: [messageKey(seq)] })
        }
      }
      // Compacted docs keep their unsent entries: compaction merges rows, never the outbox.
      if (layout.rows === 'per-period')
        updates.push({
          doc: name,
          update: Y.encodeStateAsUpdate(doc),
          messages: count,
          newest: period * periodMs + (count - 1) * spacing,
        })
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
    await storage.write({ updates, outbox })
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
    meta: {
      device: DEVICE,
      user: USER,
      seq: String(seq),
      [`seq:${conversation}`]: String(seq),
      clock: JSON.stringify(last),
      ...(layout.unsent ? { outboxSeq: String(seq) } : {}),
    },
  })
  return { docs: periods + 1, rows: rows + 1, bytes: bytes + metaUpdate.length, newest: seq }
}
