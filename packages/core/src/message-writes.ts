import type { Doc } from 'yjs'
import type { ClientContext } from './context.js'
import { TidingsError } from './errors.js'
import { type MessageId, messageId } from './ids.js'
import { docAt, laneDocName, metaDocName, type Priority } from './lanes.js'
import type { ControlRecord, Json, MessageRecord } from './message.js'
import { deleteChanges } from './pinning.js'
import type { Replica } from './replica.js'
import type { Entry } from './view.js'

type Stamp = ReturnType<ClientContext['clock']['tick']>

/**
 * Commits a new message of this device: stamp, seq and record in one storage transaction.
 * @remarks Runs inside the client's serial queue, which owns the seq and the clock.
 */
export const commitSend = async (
  ctx: ClientContext,
  replica: Replica,
  body: Json,
  priority: Priority,
  parent: Entry | undefined,
): Promise<{ id: MessageId; record: MessageRecord }> => {
  // After its parent even when the parent's clock ran ahead; ours moves only within the drift bound.
  const stamp = parent ? ctx.clock.after(parent.header.stamp) : ctx.clock.tick()
  const seq = replica.nextSeq()
  const id = messageId(ctx.device, seq)
  const record: MessageRecord = {
    author: ctx.user,
    device: ctx.device,
    stamp,
    body,
    priority,
    ...(parent ? { replyTo: parent.id } : {}),
  }
  const doc = docAt(replica.id, priority, stamp.wall, replica.periodMs)
  await replica.commit(
    [
      {
        doc,
        change: (d) => d.getMap('m').set(id, record),
        messages: [{ id, device: ctx.device, seq, wall: stamp.wall }],
      },
    ],
    seq,
  )
  return { id, record }
}

/**
 * Commits an edit or a delete of one of this device's user's messages under its
 * `<id>/<device>` control key; a delete frees every copy of the content.
 * @remarks Runs inside the client's serial queue.
 */
export const commitControl = async (
  ctx: ClientContext,
  replica: Replica,
  entry: Entry,
  record: (stamp: Stamp) => object,
): Promise<void> => {
  // Checked again in the queue: a delete queued before this call would be overwritten (one key).
  const current = replica.view.timeline.get(entry.id)?.revision
  if (current?.deleted)
    throw new TidingsError('input/invalid', `Message ${entry.id} is deleted.`, { subject: entry.id })
  // An edit replaces the revision this device sees: it must win over it on every replica.
  const seen = current?.stamp
  const value = record(seen ? ctx.clock.after(seen) : ctx.clock.tick())
  const key = `${entry.id}/${ctx.device}`
  // A delete frees every copy of the content: lane record, edit texts, pin snapshots.
  if ('deleted' in value) {
    await replica.commit(deleteChanges(ctx, replica, entry, value as ControlRecord))
    return
  }
  const pinned = replica.view.pins.has(entry.id)
  await replica.commit([
    {
      doc: laneDocName(replica.id, 'control', entry.period, entry.periodMs),
      change: (d) => d.getMap('c').set(key, value),
    },
    ...(pinned
      ? [{ doc: metaDocName(replica.id), change: (d: Doc) => d.getMap('pinEdits').set(key, value) }]
      : []),
  ])
}
