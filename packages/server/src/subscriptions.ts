import { parseDocName, periodEnd } from '@tidings/core'
import type { Frame } from '@tidings/protocol'
import * as Y from 'yjs'
import type { AwarenessBytes, AwarenessPeer } from './awareness.js'
import type { ConversationState, Subscriber } from './conversations.js'
import { Refusal } from './decode.js'
import { authenticateSafely, type Hub } from './hub.js'
import { type Bucket, bucketOf } from './lanes-queue.js'
import type { Sender } from './rules.js'

/** Who a connection authenticated as: what its subscriptions act for. */
export interface Identity {
  readonly token: string
  readonly device: string
  readonly user: string
}

export interface Subscription {
  readonly state: ConversationState
  readonly sender: Sender
  readonly peer: AwarenessPeer
  /** The conversation's creation number when it began: docs created later come forwarded whole. */
  readonly since: number
}

const EMPTY_UPDATE = new Uint8Array([0, 0])

/**
 * One connection's subscriptions and the docs it opened through them: subscribe, unsubscribe and
 * sync step 1, within the connection's and its user's limits.
 */
export class Subscriptions {
  readonly #subs = new Map<string, Subscription>()
  readonly #openDocs = new Set<string>()

  constructor(
    private readonly hub: Hub,
    /** The connection, as conversations forward to it. */
    private readonly subscriber: Subscriber,
    private readonly send: (bucket: Bucket, frame: Frame) => void,
    /** Presence bytes of all the connection's subscriptions together. */
    private readonly awarenessBytes: AwarenessBytes,
  ) {}

  get(conversation: string): Subscription | undefined {
    return this.#subs.get(conversation)
  }

  /**
   * Subscribes after `authenticate` allowed it and answers with the manifest since `version`;
   * `open()` false by then (the connection closed meanwhile) leaves nothing behind.
   */
  async subscribe(who: Identity, conversation: string, version: number, open: () => boolean): Promise<void> {
    if (!parseDocName(`${conversation}/meta`)) {
      throw new Refusal('protocol/malformed', `${JSON.stringify(conversation)} is not a conversation id`)
    }
    const { maxSubscriptions } = this.hub.limits
    if (!this.#subs.has(conversation) && this.#subs.size >= maxSubscriptions) {
      throw new Refusal('quota/exceeded', `more than ${maxSubscriptions} subscriptions on one connection`)
    }
    // Before anything is opened: a user's other connections share one allowance.
    if (!this.hub.userSubscriptions.allows(who.user, conversation)) {
      throw new Refusal('quota/exceeded', `more than ${maxSubscriptions} conversations for this user`)
    }
    const result = await authenticateSafely(this.hub, who.token, conversation, { device: who.device })
    if (!result) throw new Refusal('auth/denied', `no access to ${conversation}`)
    // The device is bound to the connection's user: it never acts for another one.
    if (result.userId !== who.user) throw new Refusal('auth/denied', `${conversation} names another user`)
    const state = await this.hub.conversations.open(conversation)
    if (!open()) return
    this.unsubscribe(conversation)
    const peer: AwarenessPeer = {
      user: result.userId,
      device: who.device,
      echo: false,
      bytes: this.awarenessBytes,
      sendAwareness: (update) => this.send('awareness', { type: 'awareness', conversation, update }),
    }
    this.#subs.set(conversation, {
      state,
      sender: {
        userId: result.userId,
        device: who.device,
        canWrite: result.canWrite,
        canAdmin: result.canAdmin === true,
      },
      peer,
      since: state.creations,
    })
    state.subscribers.add(this.subscriber)
    this.hub.userSubscriptions.add(result.userId, conversation)
    this.send('session', state.manifest.frameFor(version, state.docs, state.retainedFrom))
    state.awareness.join(peer)
  }

  unsubscribe(conversation: string): void {
    const sub = this.#subs.get(conversation)
    if (!sub) return
    this.#subs.delete(conversation)
    this.hub.userSubscriptions.remove(sub.sender.userId, conversation)
    sub.state.subscribers.delete(this.subscriber)
    sub.state.awareness.leave(sub.peer)
    sub.state.lastUsed = this.hub.now()
    for (const doc of this.#openDocs)
      if (parseDocName(doc)?.conversation === conversation) this.#openDocs.delete(doc)
  }

  /** Ends every subscription (the connection closed). */
  clear(): void {
    for (const conversation of [...this.#subs.keys()]) this.unsubscribe(conversation)
  }

  /** The subscription a doc belongs to, counting it against the open-docs limit. */
  docOf(name: string) {
    const ref = parseDocName(name)
    if (!ref) throw new Refusal('protocol/malformed', `${JSON.stringify(name)} is not a Tidings doc name`)
    const sub = this.#subs.get(ref.conversation)
    if (!sub) throw new Refusal('permission/denied', `subscribe to ${ref.conversation} first`)
    if (!this.#openDocs.has(name)) {
      if (this.#openDocs.size >= this.hub.limits.maxOpenDocs) {
        throw new Refusal('quota/exceeded', `more than ${this.hub.limits.maxOpenDocs} open docs`)
      }
      this.#openDocs.add(name)
    }
    return { ref, sub }
  }

  /**
   * Answers a step 1 with what the peer lacks, then asks with our own. `tookForwards`: the peer
   * says it took every forward of the doc since a manifest listed it as created.
   */
  async syncStep1(name: string, stateVector: Uint8Array, tookForwards: boolean): Promise<void> {
    const { ref, sub } = this.docOf(name)
    const bucket = bucketOf(name)
    const { retainedFrom } = sub.state
    if (ref.kind !== 'meta' && retainedFrom > 0 && periodEnd(ref) <= retainedFrom) {
      // Dropped by retention: nothing to send, and nothing to ask for.
      this.send(bucket, { type: 'sync-step2', doc: name, update: EMPTY_UPDATE })
      return
    }
    await this.hub.docs.get(name)
    // Never a stale answer: first what other processes committed since this one read the doc.
    await this.hub.cluster.catchUp(name)
    const doc = await this.hub.docs.get(name)
    // A doc created since the subscription began, whose forwards the peer says it took: every
    // update of it is queued to this connection in this bucket, ahead of this answer, so a step 2
    // would repeat what the peer's state vector missed of them in flight (attack12 #1, #3). Our
    // step 1 still lets the peer send what we lack.
    const forwarded = tookForwards && sub.state.createdAfter(name, sub.since)
    let update: Uint8Array = EMPTY_UPDATE
    try {
      if (forwarded) Y.decodeStateVector(stateVector)
      else update = Y.encodeStateAsUpdate(doc, stateVector)
    } catch {
      throw new Refusal('protocol/malformed', 'unreadable state vector')
    }
    this.send(bucket, { type: 'sync-step2', doc: name, update })
    this.send(bucket, { type: 'sync-step1', doc: name, stateVector: Y.encodeStateVector(doc) })
  }
}
