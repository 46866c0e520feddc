import { parseDocName, periodEnd } from '@tidings/core'
import * as Y from 'yjs'
import { SERVER_USER } from './bindings.js'
import { manifestLock } from './cluster-round.js'
import { COMMIT_ORIGIN, type Writer } from './commit.js'
import { type ConversationState, mapValue, retainedFromOf } from './conversations.js'
import { forward, type Hub, pushManifest } from './hub.js'

const DAY_MS = 24 * 60 * 60 * 1000

/** The server's own writes: nobody to ack or refuse. */
const serverWriter: Writer = {
  refused: () => undefined,
  acked: () => undefined,
  failed: () => undefined,
  released: () => undefined,
}

/**
 * Drops the period docs wholly before the conversation's retention, and pushes a manifest when
 * docs were dropped or retention moved. Run it inside the committer, never beside a commit.
 * @remarks Holds the storage locks of meta, the manifest and every doc it drops: a write round on
 * another process that checked retention before the move commits before the drop (and is dropped
 * with the rest), or checks after it against the moved meta and is refused.
 */
export const applyRetention = async (hub: Hub, state: ConversationState): Promise<void> => {
  let locked = await retiredDocs(hub, state)
  // What is stored can grow between the listing and the locks: list again under them.
  for (;;) {
    const more = await hub.cluster.lock([state.metaDoc, manifestLock(state.id), ...locked], () =>
      dropRetained(hub, state, locked),
    )
    if (more.length === 0) return
    locked = [...locked, ...more]
  }
}

/** The docs of a conversation wholly before its retention: what storage holds and memory knows. */
const retiredDocs = async (hub: Hub, state: ConversationState): Promise<string[]> => {
  // Another process may have moved retention on, or written docs this one never heard of.
  await hub.cluster.catchUp(state.metaDoc)
  const meta = await hub.docs.get(state.metaDoc)
  const retainedFrom = Math.max(state.retainedFrom, retainedFromOf(meta, hub.now()))
  const stored = (await hub.storage.listDocs(state.id)).map((info) => info.doc)
  // Each doc by its own bounds: devices may have written periods of different lengths.
  return [...new Set([...stored, ...state.docs])].filter((doc) => {
    const ref = parseDocName(doc)
    return ref?.conversation === state.id && ref.kind !== 'meta' && periodEnd(ref) <= retainedFrom
  })
}

/**
 * Drops the retired docs under the locks of `locked`; returns the retired docs it found unlocked
 * (dropping none then), for the caller to take their locks too.
 */
const dropRetained = async (
  hub: Hub,
  state: ConversationState,
  locked: readonly string[],
): Promise<string[]> => {
  await hub.cluster.refreshManifest(state)
  const dropped = await retiredDocs(hub, state)
  const held = new Set(locked)
  const unlocked = dropped.filter((doc) => !held.has(doc))
  if (unlocked.length > 0) return unlocked
  const meta = await hub.docs.get(state.metaDoc)
  const retainedFrom = retainedFromOf(meta, hub.now())
  if (retainedFrom <= state.retainedFrom && dropped.length === 0) return []
  // The manifest goes first: if a drop fails, the next run drops again and clients already know.
  const step = state.manifest.stage(dropped.map((doc) => ({ doc, dropped: true })))
  await hub.storage.write({ meta: step.meta })
  state.manifest.apply(step)
  state.retainedFrom = Math.max(state.retainedFrom, retainedFrom)
  for (const doc of dropped) {
    await hub.storage.drop(doc)
    hub.docs.discard(doc)
    state.dropped(doc)
  }
  pushManifest(hub, state, step)
  return []
}

/**
 * Moves a conversation's `retainedFrom` forward: writes it into meta's `retention` map under the
 * key `server` (core reads the highest value of that map), then drops what it no longer keeps.
 */
export const setRetainedFrom = (hub: Hub, conversation: string, wall: number): Promise<void> =>
  hub.committer.run(async () => {
    const state = await hub.conversations.open(conversation)
    const meta = await hub.docs.hold(state.metaDoc)
    try {
      await hub.cluster.lock([state.metaDoc], () => raiseRetention(hub, state, meta, wall))
      await applyRetention(hub, state)
    } finally {
      hub.docs.release(state.metaDoc)
    }
  })

/** Writes the server's retention value into meta, unless meta already holds as much. */
const raiseRetention = async (hub: Hub, state: ConversationState, held: Y.Doc, wall: number) => {
  await hub.cluster.catchUp(state.metaDoc)
  // A failed write or a catch-up that found a corrupt doc reloads it.
  const meta = hub.docs.peek(state.metaDoc) ?? held
  if (wall > retainedFromOf(meta, hub.now()) && mapValue(meta, 'retention', 'server') !== wall) {
    await state.bindings.prefetch([meta.clientID])
    // A clientID some client already uses cannot carry the server's write.
    while (![undefined, SERVER_USER].includes(state.bindings.owner(meta.clientID))) {
      meta.clientID = Math.floor(Math.random() * 0xffffffff) >>> 0
      await state.bindings.prefetch([meta.clientID])
    }
    const before = Y.encodeStateVector(meta)
    meta.transact(() => meta.getMap('retention').set('server', wall), COMMIT_ORIGIN)
    const update = Y.encodeStateAsUpdate(meta, before)
    const binding = new Map([[meta.clientID, SERVER_USER]])
    try {
      await hub.storage.write({
        updates: [{ doc: state.metaDoc, update }],
        meta: state.bindings.meta(binding),
      })
    } catch (error) {
      hub.docs.discard(state.metaDoc)
      throw error
    }
    state.bindings.commit(binding)
    hub.docs.wrote(state.metaDoc, 1)
    forward(
      hub,
      {
        writer: serverWriter,
        sender: { userId: SERVER_USER, device: null, canWrite: true, canAdmin: true },
        ref: parseDocName(state.metaDoc),
        doc: state.metaDoc,
        update,
        frameRef: 0,
      },
      state,
    )
  }
}

/** A conversation's retention policy in days: a number for all, or per conversation. */
export type RetentionDays = number | ((conversation: string) => number | undefined)

/** The policy's days for a conversation, when it names a valid number. */
const policyDays = (policy: RetentionDays | undefined, conversation: string): number | undefined => {
  const days = typeof policy === 'function' ? policy(conversation) : policy
  return days === undefined || !Number.isFinite(days) || days <= 0 ? undefined : days
}

/**
 * The highest retention value a client (an admin) may write now: the policy's cutoff when the
 * conversation has one (the server's policy stays authoritative), else the server's time.
 */
export const retentionLimit = (
  policy: RetentionDays | undefined,
  conversation: string,
  now: number,
): number => {
  const days = policyDays(policy, conversation)
  return days === undefined ? now : Math.floor(now - days * DAY_MS)
}

/** Applies a retention policy to a conversation, if it names one. */
export const applyPolicy = (hub: Hub, policy: RetentionDays | undefined, state: ConversationState): void => {
  const days = policyDays(policy, state.id)
  if (days === undefined) {
    // Still finish a drop a crash may have interrupted.
    if (state.retainedFrom > 0) hub.committer.run(() => applyRetention(hub, state)).catch(hub.report)
    return
  }
  setRetainedFrom(hub, state.id, Math.floor(hub.now() - days * DAY_MS)).catch(hub.report)
}
