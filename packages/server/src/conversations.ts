import { parseDocName, type StorageAdapter } from '@tidings/core'
import { encodeFrame, type Frame } from '@tidings/protocol'
import type * as Y from 'yjs'
import { AwarenessRoom } from './awareness.js'
import { Bindings } from './bindings.js'
import type { DocStore } from './docs.js'
import type { Bucket } from './lanes-queue.js'
import { Manifest, manifestKey } from './manifest.js'

/** A Tidings connection subscribed to a conversation: what forwarding needs of it. */
export interface Subscriber {
  /** Queues an encoded frame: one buffer is shared by every subscriber it goes to. */
  sendEncoded(bucket: Bucket, bytes: Uint8Array, type: Frame['type']): void
}

/** The live value of a root map key in a doc, read without instantiating the map. */
export const mapValue = (doc: Y.Doc, map: string, key: string): unknown => {
  const item = doc.share.get(map)?._map.get(key)
  if (!item || item.deleted) return undefined
  const content = item.content.getContent()
  return content[content.length - 1]
}

/** Every live value of a root map in a doc. */
export const mapValues = (doc: Y.Doc, map: string): unknown[] => {
  const values: unknown[] = []
  const type = doc.share.get(map)
  if (!type) return values
  for (const item of type._map.values()) {
    if (item.deleted) continue
    const content = item.content.getContent()
    values.push(content[content.length - 1])
  }
  return values
}

/**
 * The retention a meta doc states: the highest `retention` value, as core's view reads it. Client
 * values past `now` are ignored (the checks refuse them; an older server accepted them, and one
 * of 2^53-1 would drop every doc forever); the server's own value (key `server`) always counts.
 */
export const retainedFromOf = (meta: Y.Doc, now: number): number => {
  let max = 0
  const type = meta.share.get('retention')
  for (const [key, item] of type?._map ?? []) {
    if (item.deleted) continue
    const content = item.content.getContent()
    const value = content[content.length - 1]
    if (!Number.isSafeInteger(value) || (value as number) <= max) continue
    if (key === 'server' || (value as number) <= now) max = value as number
  }
  return max
}

/** What the server keeps in memory about one conversation while it is in use. */
export class ConversationState {
  /** Docs that exist in storage. */
  readonly docs = new Set<string>()
  readonly subscribers = new Set<Subscriber>()
  readonly awareness: AwarenessRoom
  readonly bindings: Bindings
  readonly metaDoc: string
  /** Retention as of the last committed meta state. */
  retainedFrom = 0
  lastUsed: number
  /** Docs a commit of this process created while this state was open, with the creation's number. */
  readonly #created = new Map<string, number>()
  #creations = 0

  constructor(
    readonly id: string,
    storage: StorageAdapter,
    readonly manifest: Manifest,
    maxAwarenessClients: number,
    now: number,
    cluster?: ClusterHooks,
  ) {
    const presence = cluster?.presence
    this.awareness = new AwarenessRoom(
      maxAwarenessClients,
      Date.now,
      presence && ((user, update) => presence(id, user, update)),
    )
    this.bindings = new Bindings(storage, id, cluster !== undefined)
    this.metaDoc = `${id}/meta`
    this.lastUsed = now
  }

  /**
   * Records docs a commit of this process just created. Their updates are forwarded to every
   * subscriber from the first one on (the manifest step goes out before it), in the doc's bucket.
   */
  created(docs: Iterable<string>): void {
    for (const doc of docs) {
      this.docs.add(doc)
      this.#created.set(doc, ++this.#creations)
    }
  }

  /** A doc no longer exists (retention, or another process dropped it). */
  dropped(doc: string): void {
    this.docs.delete(doc)
    this.#created.delete(doc)
  }

  /** The number of the latest creation: a subscription notes it when it begins. */
  get creations(): number {
    return this.#creations
  }

  /**
   * Whether this process created `doc` after creation number `mark`: then a subscription that
   * began at `mark` was forwarded every update of it, and a step 2 would only repeat them.
   */
  createdAfter(doc: string, mark: number): boolean {
    return (this.#created.get(doc) ?? 0) > mark
  }

  /**
   * Sends a frame to every subscriber except `except`. It is encoded once: a 900 KB message for
   * fifteen slow readers is one buffer in memory, not fifteen.
   */
  broadcast(bucket: Bucket, frame: Frame, except?: unknown): void {
    let bytes: Uint8Array | undefined
    for (const subscriber of this.subscribers) {
      if (subscriber === except) continue
      bytes ??= encodeFrame(frame)
      subscriber.sendEncoded(bucket, bytes, frame.type)
    }
  }
}

/** What a conversation tells, and asks of, the other processes of a cluster (none when alone). */
export interface ClusterHooks {
  /** Listens to the conversation's fan-out channel; resolves once live. */
  readonly subscribe: (conversation: string) => Promise<void>
  readonly unsubscribe: (conversation: string) => void
  /** A local peer changed presence: tell the other processes. */
  readonly presence: (conversation: string, user: string, update: Uint8Array) => void
}

export interface ConversationsOptions {
  readonly storage: StorageAdapter
  readonly docs: DocStore
  readonly maxAwarenessClients: number
  readonly now: () => number
  /** Called once per opening, after the state is ready (retention defaults hook in here). */
  readonly opened: (state: ConversationState) => void
  readonly cluster?: ClusterHooks
}

/** Conversation states, opened on first use from storage and dropped when unused. */
export class Conversations {
  readonly #states = new Map<string, ConversationState>()
  readonly #opening = new Map<string, Promise<ConversationState>>()

  constructor(private readonly options: ConversationsOptions) {}

  get(id: string): ConversationState | undefined {
    return this.#states.get(id)
  }

  all(): IterableIterator<ConversationState> {
    return this.#states.values()
  }

  async open(id: string): Promise<ConversationState> {
    const open = this.#states.get(id)
    if (open) {
      open.lastUsed = this.options.now()
      return open
    }
    let pending = this.#opening.get(id)
    if (!pending) {
      pending = this.#load(id).finally(() => this.#opening.delete(id))
      this.#opening.set(id, pending)
    }
    return pending
  }

  /** Forgets conversations nobody subscribed to for `idleMs`; `inUse` vetoes (open y-websocket rooms). */
  sweep(idleMs: number, inUse: (state: ConversationState) => boolean): void {
    const cutoff = this.options.now() - idleMs
    for (const [id, state] of this.#states) {
      if (state.subscribers.size > 0 || state.awareness.size > 0 || state.lastUsed > cutoff) continue
      if (inUse(state)) continue
      state.awareness.destroy()
      this.#states.delete(id)
      this.options.cluster?.unsubscribe(id)
    }
  }

  close(): void {
    for (const state of this.#states.values()) state.awareness.destroy()
    this.#states.clear()
  }

  async #load(id: string): Promise<ConversationState> {
    const { storage, docs, cluster } = this.options
    // Live before storage is read: a commit elsewhere is then either read here or heard of.
    await cluster?.subscribe(id)
    const [list, manifestJson, meta] = await Promise.all([
      storage.listDocs(id),
      storage.getMeta(manifestKey(id)),
      docs.get(`${id}/meta`),
    ])
    const state = new ConversationState(
      id,
      storage,
      Manifest.parse(id, manifestJson),
      this.options.maxAwarenessClients,
      this.options.now(),
      cluster,
    )
    // listDocs matches by prefix: an app's own doc named like `<id>/notes` is not part of it.
    for (const info of list) if (parseDocName(info.doc)?.conversation === id) state.docs.add(info.doc)
    state.retainedFrom = retainedFromOf(meta, this.options.now())
    this.#states.set(id, state)
    this.options.opened(state)
    return state
  }
}
