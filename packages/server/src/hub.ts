import type { StorageAdapter } from '@tidings/core'
import type { AwarenessRoom } from './awareness.js'
import type { Committer, UpdateJob } from './commit.js'
import type { ConversationState, Conversations } from './conversations.js'
import type { DocStore } from './docs.js'
import { bucketOf } from './lanes-queue.js'
import type { Limits } from './limits.js'
import type { ManifestStep } from './manifest.js'
import type { ByteBudget, UserConnections, UserSubscriptions } from './quotas.js'

/** Who a token belongs to, and whether that user may write the conversation. */
export interface AuthResult {
  readonly userId: string
  readonly canWrite: boolean
}

/** What the server knows about the request when it asks `authenticate`. */
export interface AuthContext {
  /** The device id the client announced (Tidings protocol), or passed as `?device=` on `/y/`. */
  readonly device?: string
  /** The doc a `/y/` connection asks for. */
  readonly doc?: string
}

/**
 * Decides who a token is: called with `null` when a connection authenticates, and with the
 * conversation id at each subscription. Return null (or throw) to refuse.
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
  readonly now: () => number
  readonly report: (error: unknown) => void
  /** y-websocket connections by doc name. */
  readonly rooms: Map<string, Set<RoomMember>>
  /** Presence of y-websocket rooms that are not a conversation's meta doc. */
  readonly roomAwareness: Map<string, AwarenessRoom>
  /** Every open connection, to close them at shutdown. */
  readonly connections: Set<{ close(code: number, reason: string): void }>
  closing: boolean
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
    return { userId: result.userId, canWrite: result.canWrite === true }
  } catch {
    return undefined
  }
}

/** Relays a committed update to every other Tidings subscriber and y-websocket peer of its doc. */
export const forward = (hub: Hub, job: UpdateJob, state: ConversationState | undefined): void => {
  state?.broadcast(
    bucketOf(job.doc),
    { type: 'update', doc: job.doc, ref: 0, update: job.update },
    job.writer,
  )
  for (const member of hub.rooms.get(job.doc) ?? []) {
    if (member !== (job.writer as unknown)) member.sendUpdate(job.update)
  }
}

/** Sends a committed manifest step to a conversation's subscribers. */
export const pushManifest = (state: ConversationState, step: ManifestStep): void => {
  state.broadcast('session', state.manifest.pushFrame(step, state.retainedFrom))
}
