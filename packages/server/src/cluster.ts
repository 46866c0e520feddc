import { parseDocName } from '@tidings/core'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import type { RoundGuard } from './cluster-round.js'
import type { Prepared } from './commit.js'
import type { ConversationState } from './conversations.js'
import { retainedFromOf } from './conversations.js'
import type { Fanout } from './fanout.js'
import type { Hub } from './hub.js'
import { bucketOf } from './lanes-queue.js'
import { manifestKey } from './manifest.js'
import { clientsOf } from './server-structs.js'

/** What one process tells the others, first byte of a payload. */
const UPDATE = 1
const MANIFEST = 2
const PRESENCE = 3

/** How often a process catches up its loaded docs from storage anyway (a publisher died mid-way). */
export const DEFAULT_CATCH_UP_MS = 2000

/**
 * One server process among several sharing storage and a fan-out. Storage is the truth: every
 * check runs under the storage locks of the docs it writes, after catching up the docs it reads;
 * the fan-out
 * makes other processes learn a commit within milliseconds, and storage catches them up when a
 * payload was lost. Alone (`localFanout`), every method here is a no-op.
 */
export class Cluster implements RoundGuard {
  #timer: ReturnType<typeof setInterval> | undefined
  #sweeping = false
  /** A catch-up was asked for while one ran: its reads may predate what it must see. */
  #again = false
  /** Docs being loaded to forward whole to subscribers; later payloads wait for the load. */
  readonly #forwarding = new Map<string, Promise<void>>()

  constructor(
    private readonly hub: Hub,
    readonly fanout: Fanout,
    private readonly catchUpMs = DEFAULT_CATCH_UP_MS,
  ) {}

  get shared(): boolean {
    return this.fanout.shared
  }

  async start(): Promise<void> {
    if (!this.shared) return
    await this.fanout.start({
      message: (conversation, payload) => this.#received(conversation, payload),
      missed: () => void this.catchUpAll().catch(this.hub.report),
      warn: (message) => this.hub.log.warn(message),
    })
    this.#timer = setInterval(() => void this.catchUpAll().catch(this.hub.report), this.catchUpMs)
    this.#timer.unref()
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
    await this.fanout.close()
  }

  /**
   * Runs `fn` holding the storage locks of `names` when other processes share storage: the
   * read-check-write of a commit, never beside another process's on the same doc.
   */
  lock<T>(names: readonly string[], fn: () => Promise<T>): Promise<T> {
    const { storage } = this.hub
    if (!this.shared || !storage.withLock || names.length === 0) return fn()
    return storage.withLock(names, fn)
  }

  async catchUpRound(docs: readonly string[], prepared: readonly Prepared[]): Promise<void> {
    await Promise.all(docs.map((doc) => this.hub.docs.catchUp(doc)))
    const states = new Set<ConversationState>()
    for (const { job, decoded, state } of prepared) {
      if (!state) continue
      const doc = this.hub.docs.peek(job.doc)
      // What the update touches may have changed owners with the rows just read.
      if (doc) await state.bindings.prefetch(clientsOf(decoded, doc))
      if (!state.docs.has(job.doc)) states.add(state)
    }
    // A new doc takes the next manifest version: the one stored now, whoever wrote it.
    for (const state of states) await this.refreshManifest(state)
  }

  /** Catches a loaded doc up with what other processes committed (before a check or a sync). */
  async catchUp(doc: string): Promise<void> {
    if (this.shared) await this.hub.docs.catchUp(doc)
  }

  /** A committed update: the other processes relay it to their clients. */
  published(doc: string, update: Uint8Array): void {
    if (!this.shared) return
    const ref = parseDocName(doc)
    if (!ref) return
    const e = encoding.createEncoder()
    encoding.writeUint8(e, UPDATE)
    encoding.writeVarString(e, doc)
    encoding.writeVarUint8Array(e, update)
    this.fanout.publish(ref.conversation, encoding.toUint8Array(e))
  }

  /** A conversation's manifest changed in storage: the others read it. */
  manifestChanged(conversation: string): void {
    if (!this.shared) return
    this.fanout.publish(conversation, new Uint8Array([MANIFEST]))
  }

  /** A presence change a local peer of `user` made, stamped: the others apply it. */
  presence(conversation: string, user: string, update: Uint8Array): void {
    if (!this.shared) return
    const e = encoding.createEncoder()
    encoding.writeUint8(e, PRESENCE)
    encoding.writeVarString(e, user)
    encoding.writeVarUint8Array(e, update)
    this.fanout.publish(conversation, encoding.toUint8Array(e))
  }

  /** Listens to a conversation before its state is read from storage, so nothing falls between. */
  subscribe(conversation: string): Promise<void> {
    return this.shared ? this.fanout.subscribe(conversation) : Promise.resolve()
  }

  unsubscribe(conversation: string): void {
    if (this.shared) this.fanout.unsubscribe(conversation)
  }

  /** Relays what a remote update or a catch-up changed in a loaded doc to this process's clients. */
  relay(doc: string, update: Uint8Array): void {
    const ref = parseDocName(doc)
    const state = ref ? this.hub.conversations.get(ref.conversation) : undefined
    state?.broadcast(bucketOf(doc), { type: 'update', doc, ref: 0, update })
    for (const member of this.hub.rooms.get(doc) ?? []) member.sendUpdate(update)
    if (state && doc === state.metaDoc) {
      const meta = this.hub.docs.peek(doc)
      if (meta) state.retainedFrom = Math.max(state.retainedFrom, retainedFromOf(meta, this.hub.now()))
    }
  }

  /**
   * Reads a conversation's manifest from storage; when another process moved it on, adopts it,
   * follows its created and dropped docs, and pushes the change to this process's subscribers.
   */
  async refreshManifest(state: ConversationState): Promise<void> {
    if (!this.shared) return
    const json = await this.hub.storage.getMeta(manifestKey(state.id))
    const before = state.manifest.version
    const adopted = state.manifest.adopt(json)
    if (!adopted) return
    const known = new Set(state.docs)
    let changes = adopted.changes
    if (!adopted.complete) {
      // Further behind than the log reaches: the doc list itself tells what exists.
      const listed = new Set(
        (await this.hub.storage.listDocs(state.id))
          .map((info) => info.doc)
          .filter((doc) => parseDocName(doc)?.conversation === state.id),
      )
      changes = [
        ...[...listed].map((doc) => ({ doc, dropped: false })),
        ...[...state.docs].filter((doc) => !listed.has(doc)).map((doc) => ({ doc, dropped: true })),
      ]
    }
    for (const { doc, dropped } of changes) {
      if (!dropped) state.docs.add(doc)
      else {
        state.dropped(doc)
        this.hub.docs.discard(doc)
      }
    }
    await this.catchUp(state.metaDoc)
    const meta = this.hub.docs.peek(state.metaDoc)
    if (meta) state.retainedFrom = Math.max(state.retainedFrom, retainedFromOf(meta, this.hub.now()))
    state.broadcast('session', state.manifest.frameFor(before, state.docs, state.retainedFrom))
    // A client asks only for the docs it knew at subscription: created ones come to it unasked.
    for (const doc of state.docs) {
      if (!known.has(doc) && !this.hub.docs.peek(doc)) this.#forwardWhole(state, doc)
    }
  }

  /**
   * Loads a doc this process has not loaded and sends its whole state to the conversation's
   * subscribers: they may lack rows whose payloads this process missed (Redis was down), and a
   * later update would wait on those in their Y.Doc forever. Once loaded, catch-ups and payloads
   * relay only what they change; `update` (a payload that came during the load) is applied after.
   */
  #forwardWhole(state: ConversationState, doc: string, update?: Uint8Array): void {
    const loading = this.#forwarding.get(doc)
    if (loading) {
      if (update) void loading.then(() => this.hub.docs.applyRemote(doc, update))
      return
    }
    if (state.subscribers.size === 0) return
    const forwarded = this.hub.docs
      .get(doc)
      .then((loaded) => this.relay(doc, Y.encodeStateAsUpdate(loaded)))
      .catch(this.hub.report)
      .finally(() => this.#forwarding.delete(doc))
    this.#forwarding.set(doc, forwarded)
  }

  /** Catches up every loaded doc and open manifest from storage: after a lost payload, and now and then. */
  async catchUpAll(): Promise<void> {
    if (!this.shared || this.hub.closing) return
    if (this.#sweeping) {
      this.#again = true
      return
    }
    this.#sweeping = true
    try {
      do {
        this.#again = false
        await Promise.all(this.hub.docs.loaded().map((doc) => this.hub.docs.catchUp(doc)))
        await Promise.all([...this.hub.conversations.all()].map((state) => this.refreshManifest(state)))
      } while (this.#again && !this.hub.closing)
    } finally {
      this.#sweeping = false
    }
  }

  #received(conversation: string, payload: Uint8Array): void {
    try {
      const d = decoding.createDecoder(payload)
      const kind = decoding.readUint8(d)
      const state = this.hub.conversations.get(conversation)
      if (kind === UPDATE) {
        const doc = decoding.readVarString(d)
        const update = decoding.readVarUint8Array(d)
        if (parseDocName(doc)?.conversation !== conversation) return
        // A loaded doc relays what the update changed in it; another is loaded first, as the
        // bytes may depend on rows whose payloads this process missed.
        if (!this.hub.docs.applyRemote(doc, update) && state) this.#forwardWhole(state, doc, update)
      } else if (kind === MANIFEST) {
        if (state) this.refreshManifest(state).catch(this.hub.report)
      } else if (kind === PRESENCE) {
        const user = decoding.readVarString(d)
        state?.awareness.applyRemote(user, decoding.readVarUint8Array(d))
      }
    } catch (error) {
      this.hub.report(error)
    }
  }
}
