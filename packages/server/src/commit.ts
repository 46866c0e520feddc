import type { DocRef, PeriodRef, StorageAdapter, UpdateWrite } from '@tidings/core'
import * as Y from 'yjs'
import { type CheckContext, checkDecoded } from './checks.js'
import { lockedRound, type RoundGuard } from './cluster-round.js'
import type { ConversationState, Conversations } from './conversations.js'
import { mapValue, retainedFromOf } from './conversations.js'
import { type DecodedUpdate, decodeUpdateV1, Refusal } from './decode.js'
import type { DocStore } from './docs.js'
import { yieldIfBusy } from './fairness.js'
import { bucketOf, PriorityQueue } from './lanes-queue.js'
import type { ManifestStep } from './manifest.js'
import { pinDocs, storedMessageLookup } from './pins.js'
import { DocAdmission } from './quotas.js'
import type { Sender } from './rules.js'
import { clientsOf } from './server-structs.js'
import { WaitingRoom } from './waiting.js'

/** The connection an update came from. */
export interface Writer {
  /** The update was refused: nothing changed. */
  refused(job: UpdateJob, refusal: Refusal): void
  /** These refs are committed. */
  acked(refs: readonly number[]): void
  /** Storage failed: the connection closes so the client resends later (a refusal would lose it). */
  failed(error: unknown): void
  /** The job left the queue: its bytes no longer count against the connection. */
  released(bytes: number): void
  /** True once the server closed this connection for abuse: its queued jobs are dropped unread. */
  readonly abandoned?: boolean
}

/** One incoming update, queued in its doc's lane until the next group commit. */
export interface UpdateJob {
  readonly writer: Writer
  readonly sender: Sender
  /** The Tidings doc it targets; undefined for an app's own doc (y-websocket path). */
  readonly ref: DocRef | undefined
  readonly doc: string
  readonly update: Uint8Array
  /** Nonzero: ack it after the commit. */
  readonly frameRef: number
}

export interface CommitterOptions {
  readonly storage: StorageAdapter
  readonly docs: DocStore
  readonly conversations: Conversations
  readonly maxStructs: number
  /** Period docs starting after now that one member may create per conversation. */
  readonly maxDocsAhead: number
  /** New docs one member may create per conversation and minute. */
  readonly newDocsPerMinute: number
  /** New docs one member may create per minute over all conversations. */
  readonly userNewDocsPerMinute: number
  /** How long an update whose dependencies are missing waits for them before it is refused. */
  readonly waitMs: number
  /** Waiting updates per connection; past it they are refused at once. */
  readonly maxWaiting: number
  readonly now: () => number
  readonly report: (error: unknown) => void
  /** Relays a committed update to everyone else holding the doc. */
  readonly forward: (job: UpdateJob, state: ConversationState | undefined) => void
  /** Pushes a committed manifest step to a conversation's subscribers. */
  readonly pushManifest: (state: ConversationState, step: ManifestStep) => void
  /** The highest retention value a client may write into a conversation now. */
  readonly retentionLimit: (conversation: string) => number
  /** A commit raised a conversation's retention: drop what it no longer keeps. */
  readonly retentionRose: (state: ConversationState) => void
  /** Told how long each group commit's storage write took, and whether it succeeded. */
  readonly committed?: (seconds: number, ok: boolean, updates: number) => void
  /** Other processes sharing storage: rounds run under their docs' locks, caught up first. */
  readonly cluster?: RoundGuard
}

/** Jobs per group commit: big enough to amortise a transaction, small enough to keep acks quick. */
const MAX_ROUND = 512
/**
 * Update bytes per group commit (at least one job): decoding and checking are linear in bytes, so
 * this bounds how long one round holds the event loop, and pings of other clients wait no longer.
 */
const MAX_ROUND_BYTES = 32 * 1024

/** Lets timers and sockets run between rounds (a round on memory storage never leaves the microtask queue). */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Marks the server's own application of a checked update, so nothing echoes it back. */
export const COMMIT_ORIGIN = Symbol('tidings-commit')

export interface Prepared {
  readonly job: UpdateJob
  readonly decoded: DecodedUpdate
  readonly state: ConversationState | undefined
}

/**
 * Checks queued updates against the server's docs, commits the accepted ones in one storage
 * write, then acks and forwards them. Higher lanes are taken first; everything (server tasks
 * included) runs one round at a time, so every check sees every earlier commit.
 */
export class Committer {
  readonly #queue = new PriorityQueue<UpdateJob>()
  readonly #tasks: (() => Promise<void>)[] = []
  #running: Promise<void> | undefined
  readonly #waiting: WaitingRoom
  readonly #admission: DocAdmission

  constructor(private readonly options: CommitterOptions) {
    this.#waiting = new WaitingRoom(options.waitMs, options.maxWaiting, options.now)
    this.#admission = new DocAdmission(
      options.maxDocsAhead,
      options.newDocsPerMinute,
      options.userNewDocsPerMinute,
    )
  }

  /** Up to MAX_ROUND jobs and MAX_ROUND_BYTES bytes, highest lane first. */
  #nextRound(): UpdateJob[] {
    const jobs: UpdateJob[] = []
    let bytes = 0
    while (jobs.length < MAX_ROUND && (jobs.length === 0 || bytes < MAX_ROUND_BYTES)) {
      const job = this.#queue.shift()
      if (!job) break
      jobs.push(job)
      bytes += job.update.length
    }
    return jobs
  }

  push(job: UpdateJob): void {
    this.#queue.push(bucketOf(job.doc), job)
    this.#kick()
  }

  /** Runs a task between rounds, so it never interleaves with a commit. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#tasks.push(() => task().then(resolve, reject))
      this.#kick()
    })
  }

  /** Resolves when every queued job and task is done. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running
  }

  /** Refuses every update still waiting for dependencies (server shutdown). */
  close(): void {
    this.#waiting.close()
  }

  #kick(): void {
    if (this.#running) return
    this.#running = this.#loop().finally(() => {
      this.#running = undefined
    })
  }

  async #loop(): Promise<void> {
    while (this.#tasks.length > 0 || this.#queue.size > 0) {
      const task = this.#tasks.shift()
      try {
        if (task) await task()
        else await this.#round(this.#nextRound())
      } catch (error) {
        this.options.report(error)
      }
      if (this.#tasks.length > 0 || this.#queue.size > 0) await yieldToEventLoop()
    }
  }

  async #round(jobs: UpdateJob[]): Promise<void> {
    const { docs, conversations } = this.options
    const held = new Set<string>()
    let requeued = new Set<UpdateJob>()
    const hold = async (name: string) => {
      if (held.has(name)) return docs.get(name)
      held.add(name)
      return docs.hold(name)
    }
    try {
      const prepared: Prepared[] = []
      for (const job of jobs) {
        // A connection closed for abuse: its backlog would only cost decodes nobody reads.
        if (job.writer.abandoned) continue
        await yieldIfBusy()
        try {
          // Tidings docs refuse GC structs while decoding, before any binding is staged.
          const decoded = decodeUpdateV1(job.update, this.options.maxStructs, { gc: job.ref === undefined })
          await yieldIfBusy()
          const state = job.ref ? await conversations.open(job.ref.conversation) : undefined
          const doc = await hold(job.doc)
          if (state) {
            await hold(state.metaDoc)
            await state.bindings.prefetch(clientsOf(decoded, doc))
            // Pin snapshots are checked against the messages they name: load those docs.
            if (job.doc === state.metaDoc) for (const name of pinDocs(decoded, state)) await hold(name)
          }
          prepared.push({ job, decoded, state })
        } catch (error) {
          this.#fail(job, error)
        }
      }
      // Nothing is applied yet: the checks of a big update may start in a turn of their own.
      await yieldIfBusy()
      const { cluster } = this.options
      requeued = cluster?.shared
        ? await lockedRound(cluster, held, prepared, () => this.#commit(prepared))
        : await this.#commit(prepared)
    } finally {
      for (const name of held) docs.release(name)
      for (const job of jobs) if (!requeued.has(job)) job.writer.released(job.update.length)
    }
  }

  #fail(job: UpdateJob, error: unknown): void {
    if (error instanceof Refusal) job.writer.refused(job, error)
    else {
      this.options.report(error)
      job.writer.failed(error)
    }
  }

  /** Checks, applies and commits; returns the jobs kept for later (requeued or waiting). */
  async #commit(prepared: Prepared[]): Promise<Set<UpdateJob>> {
    const { docs, storage, now } = this.options
    const staged = new Map<ConversationState, Map<number, string>>()
    const created = new Map<ConversationState, Set<string>>()
    const writes: UpdateWrite[] = []
    /** Each with the update as stored and forwarded: what the server lacked of the job's. */
    const accepted: (Prepared & { readonly update: Uint8Array })[] = []
    const noops: Prepared[] = []
    const poisoned = new Set<string>()
    const requeued = new Set<UpdateJob>()
    /** Retention each touched meta stated before this round's first write into it. */
    const metaTouched = new Map<ConversationState, number>()
    for (const item of prepared) {
      const { job, decoded, state } = item
      if (poisoned.has(job.doc)) {
        // A doc whose in-memory state we distrust: the job waits for it to reload from storage.
        requeued.add(job)
        this.push(job)
        continue
      }
      const doc = docs.peek(job.doc)!
      const meta = state ? docs.peek(state.metaDoc) : undefined
      const stage = state ? (staged.get(state) ?? new Map<number, string>()) : new Map<number, string>()
      const ctx: CheckContext = {
        doc,
        ref: job.ref,
        sender: job.sender,
        owner: (client) => stage.get(client) ?? state?.bindings.owner(client),
        ...(state ? { presenceOwner: (client: number) => state.awareness.ownerOf(client) } : {}),
        deviceOwner: (device) => {
          const user = meta ? mapValue(meta, 'devices', device) : undefined
          return typeof user === 'string' ? user : undefined
        },
        retainedFrom: meta ? Math.max(state!.retainedFrom, retainedFromOf(meta, now())) : 0,
        retentionLimit: state ? this.options.retentionLimit(state.id) : 0,
        now: now(),
        maxStructs: this.options.maxStructs,
        ...(meta && job.doc === state!.metaDoc
          ? {
              storedMessage: storedMessageLookup(state!, meta, (name) => docs.peek(name)),
            }
          : {}),
      }
      let result: ReturnType<typeof checkDecoded>
      try {
        result = checkDecoded(decoded, ctx)
      } catch (error) {
        const refusal = error instanceof Refusal ? error : new Refusal('protocol/malformed', String(error))
        refusal.structs = decoded.count
        if (refusal.waits && this.#waiting.wait(job, refusal)) requeued.add(job)
        else this.#fail(job, refusal)
        continue
      }
      if (result.foreign && job.frameRef !== 0) {
        // Never ack what was not stored: the server's structs at that range are not the sender's.
        this.#fail(
          job,
          new Refusal(
            'permission/denied',
            'these clientIDs and clocks hold other content (another user or session)',
          ),
        )
        continue
      }
      if (!result.effective) {
        noops.push(item)
        continue
      }
      if (state && job.ref && job.ref.kind !== 'meta' && !state.docs.has(job.doc)) {
        const createdNow = created.get(state)?.has(job.doc) ?? false
        const refusal = createdNow
          ? undefined
          : this.#admission.admitDoc(state, job.sender.userId, job.doc, job.ref as PeriodRef, ctx.now)
        if (refusal) {
          this.#fail(job, refusal)
          continue
        }
      }
      if (state && result.bindings.size > 0) {
        const refusal = this.#admission.quotasOf(state).admitBindings(job.sender.userId, result.bindings.size)
        if (refusal) {
          this.#fail(job, refusal)
          continue
        }
      }
      // Not `state.retainedFrom`: a catch-up may raise it from this round's meta before it commits.
      if (meta && job.doc === state!.metaDoc && !metaTouched.has(state!))
        metaTouched.set(state!, retainedFromOf(meta, now()))
      // A resend overlapping what is stored: keep only the new part, so no peer gets it twice.
      const update = result.overlap ? Y.diffUpdate(job.update, Y.encodeStateVector(doc)) : job.update
      try {
        Y.applyUpdate(doc, update, COMMIT_ORIGIN)
        if (doc.store.pendingStructs || doc.store.pendingDs)
          throw new Error('the update left pending structs')
      } catch (error) {
        // Checks should make this unreachable; if not, storage stays clean and the doc reloads.
        poisoned.add(job.doc)
        this.#fail(
          job,
          new Refusal('protocol/malformed', `the update could not be applied: ${String(error)}`),
        )
        continue
      }
      if (state) {
        for (const [client, user] of result.bindings) stage.set(client, user)
        staged.set(state, stage)
        if (!state.docs.has(job.doc)) {
          const set = created.get(state) ?? new Set<string>()
          set.add(job.doc)
          created.set(state, set)
        }
      }
      writes.push({ doc: job.doc, update, messages: result.messages, newest: result.newest })
      accepted.push({ ...item, update })
    }
    const steps = new Map<ConversationState, ManifestStep>()
    for (const [state, set] of created) {
      steps.set(state, state.manifest.stage([...set].map((doc) => ({ doc, dropped: false }))))
    }
    if (writes.length > 0) {
      const lost = (
        await Promise.all([...staged].map(([state, stage]) => state.bindings.claim(stage)))
      ).flat()
      if (lost.length > 0) {
        // Another process bound some of these clientIDs first: nothing is written, all check again.
        for (const name of new Set([...accepted.map(({ job }) => job.doc), ...poisoned])) docs.discard(name)
        for (const { job } of [...accepted, ...noops]) {
          requeued.add(job)
          this.push(job)
        }
        return requeued
      }
      const meta: Record<string, string> = {}
      for (const [state, stage] of staged) Object.assign(meta, state.bindings.meta(stage))
      for (const step of steps.values()) Object.assign(meta, step.meta)
      const started = performance.now()
      try {
        await storage.write({ updates: writes, meta })
        this.options.committed?.((performance.now() - started) / 1000, true, writes.length)
      } catch (error) {
        this.options.committed?.((performance.now() - started) / 1000, false, writes.length)
        // Memory holds what storage refused: forget those docs, and let the clients resend.
        for (const { job } of accepted) docs.discard(job.doc)
        for (const name of poisoned) docs.discard(name)
        for (const item of [...accepted, ...noops]) this.#fail(item.job, error)
        return requeued
      }
    }
    for (const name of poisoned) docs.discard(name)
    for (const [state, stage] of staged) state.bindings.commit(stage)
    for (const [state, set] of created) state.created(set)
    for (const write of writes) docs.wrote(write.doc, 1)
    for (const doc of new Set(writes.map((w) => w.doc)))
      for (const job of this.#waiting.wake(doc)) this.push(job)
    const refs = new Map<Writer, number[]>()
    for (const { job } of [...accepted, ...noops]) {
      if (job.frameRef === 0) continue
      const list = refs.get(job.writer) ?? []
      list.push(job.frameRef)
      refs.set(job.writer, list)
    }
    for (const [writer, list] of refs) writer.acked(list)
    for (const [state, step] of steps) {
      state.manifest.apply(step)
      this.options.pushManifest(state, step)
    }
    for (const { job, state, update } of accepted) this.options.forward({ ...job, update }, state)
    for (const [state, before] of metaTouched) {
      const meta = docs.peek(state.metaDoc)
      if (meta && retainedFromOf(meta, now()) > before) this.options.retentionRose(state)
    }
    return requeued
  }
}
