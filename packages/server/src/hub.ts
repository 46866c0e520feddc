import type { StorageAdapter } from '@tidings/core'
import type { AwarenessRoom } from './awareness.js'
import type { Cluster } from './cluster.js'
import type { Committer, UpdateJob } from './commit.js'
import type { ConversationState, Conversations } from './conversations.js'
import type { DeviceOwners } from './device-owners.js'
import type { DocStore } from './docs.js'
import { bucketOf } from './lanes-queue.js'
import type { Limits } from './limits.js'
import type { Logger } from './logs.js'
import type { ManifestStep } from './manifest.js'
import type { ServerMetrics } from './metrics.js'
import type { ByteBudget, UserConnections, UserSubscriptions } from './quotas.js'
import type { RefusalLedger } from './refusals.js'

/** Who a token belongs to, and what that user may do in the conversation. */
export interface AuthResult {
  readonly userId: string
  readonly canWrite: boolean
  /**
   * May change the conversation's retention (meta `retention`) and settings (meta `settings`);
   * default false. Everyone else's writes there are refused with `permission/denied`. Layout
   * settings (`periodMs`) stay fixed once set, even for an admin.
   */
  readonly canAdmin?: boolean
}

/** What the server knows about the request when it asks `authenticate`. */
export interface AuthContext {
  /** The device id the client announced (Tidings protocol), or passed as `?device=` on `/y/`. */
  readonly device?: string
  /** The doc a `/y/` connection asks for. */
  readonly doc?: string
  /**
   * True when the second argument is the name of a plain `/y/` doc (an app's own doc, not part of
   * a conversation) rather than a conversation id.
   */
  readonly plainDoc?: boolean
}

/**
 * Decides who a token is, and what it may open. Return null (or throw) to refuse.
 *
 * @remarks It is called with, as `conversation`:
 * - `null` when a Tidings protocol connection authenticates: the token alone, before anything is
 *   opened. Grant nothing by it: every conversation and doc is asked for again by name.
 * - a conversation id at each subscription, and when a `/y/` connection opens one of that
 *   conversation's docs (`context.doc` names the doc).
 * - the doc's own name when a `/y/` connection opens a plain doc (`context.plainDoc` is true,
 *   `context.doc` is the same name). An `authenticate` that checks conversation membership thus
 *   refuses plain docs it does not know; one that wants to grant them checks `context.plainDoc`.
 *   Keep plain doc names apart from conversation ids (a prefix will do), or check `plainDoc`, so a
 *   member of conversation `x` is not also given the plain doc named `x`.
 */
export type Authenticate = (
  token: string,
  conversation: string | null,
  context: AuthContext,
) => AuthResult | null | undefined | Promise<AuthResult | null | undefined>

/** A y-websocket connection, as forwarding sees it. */
export interface RoomMember {
  sendUpdate(update: Uint8Array): void
}

/** The services every connection shares. */
export interface Hub {
  readonly storage: StorageAdapter
  readonly docs: DocStore
  readonly conversations: Conversations
  readonly committer: Committer
  /** Bytes queued for sending over all connections (`maxTotalQueuedBytes`). */
  readonly outgoing: ByteBudget
  /** Open connections per user (`maxConnectionsPerUser`). */
  readonly userConnections: UserConnections
  /** Distinct conversations per user over their connections (`maxSubscriptions`). */
  readonly userSubscriptions: UserSubscriptions
  readonly limits: Limits
  readonly authenticate: Authenticate
  /** Device id → user, server-wide: claimed at authentication. */
  readonly devices: DeviceOwners
  readonly now: () => number
  readonly report: (error: unknown) => void
  /** Structured logs: never tokens or message bodies. */
  readonly log: Logger
  readonly metrics: ServerMetrics
  /** The other processes sharing storage, if any: locks, catch-ups, fan-out. */
  readonly cluster: Cluster
  /** y-websocket connections by doc name. */
  readonly rooms: Map<string, Set<RoomMember>>
  /** Presence of y-websocket rooms that are not a conversation's meta doc. */
  readonly roomAwareness: Map<string, AwarenessRoom>
  /** Refusals per user on `/y/` (the stock protocol cannot tell a client it was refused). */
  readonly refusals: RefusalLedger
  /** Every open connection, to close them at shutdown. */
  readonly connections: Set<{ close(code: number, reason: string): void }>
  closing: boolean
  /** Connections not authenticated yet (`maxUnauthenticated`): Tidings before `auth`, `/y/` before `authenticate` answered. */
  unauthenticated: number
}

/** Calls `authenticate`, turning throws and non-results into a refusal (undefined). */
export const authenticateSafely = async (
  hub: Hub,
  token: string,
  conversation: string | null,
  context: AuthContext,
): Promise<AuthResult | undefined> => {
  try {
    const result = await hub.authenticate(token, conversation, context)
    if (!result || typeof result.userId !== 'string' || result.userId === '') return undefined
    return { userId: result.userId, canWrite: result.canWrite === true, canAdmin: result.canAdmin === true }
  } catch {
    return undefined
  }
}

/**
 * Relays a committed update to every other Tidings subscriber and y-websocket peer of its doc, and
 * to the other processes of a cluster.
 */
export const forward = (hub: Hub, job: UpdateJob, state: ConversationState | undefined): void => {
  hub.cluster.published(job.doc, job.update)
  state?.broadcast(
    bucketOf(job.doc),
    { type: 'update', doc: job.doc, ref: 0, update: job.update },
    job.writer,
  )
  for (const member of hub.rooms.get(job.doc) ?? []) {
    if (member !== (job.writer as unknown)) member.sendUpdate(job.update)
  }
}

/** Sends a committed manifest step to a conversation's subscribers, and tells the other processes. */
export const pushManifest = (hub: Hub, state: ConversationState, step: ManifestStep): void => {
  state.broadcast('session', state.manifest.pushFrame(step, state.retainedFrom))
  hub.cluster.manifestChanged(state.id)
}
