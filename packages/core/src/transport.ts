import type { ErrorCode, TidingsError } from './errors.js'
import type { Forwarder } from './forward.js'
import type { ConversationId, DeviceId } from './ids.js'
import type { Lane } from './lanes.js'

/** A link's state: `online` once subscribed and synced. */
export type ConnectionState = 'offline' | 'connecting' | 'syncing' | 'online'

/**
 * The link's state with why it is not online and when the next attempt comes: what a UI shows
 * beside the bare state ("server unreachable, retrying in 4 s").
 */
export interface LinkStatus {
  readonly state: ConnectionState
  /** Why the link is offline or connecting again: the last failure, or `offline/switch` or `offline/platform`. */
  readonly reason?: ErrorCode
  /** While offline: the backoff wait before the next attempt, in ms, as it was scheduled; absent when none is. */
  readonly retryInMs?: number
}

/** Who is connecting: the transport authenticates with it and sends it with subscriptions. */
export interface TransportSession {
  readonly user: string
  readonly device: DeviceId
}

/** A doc the client holds, with its Yjs state vector, so the other side sends only what is missing. */
export interface DocVector {
  readonly doc: string
  readonly stateVector: Uint8Array
}

/** An update to send. `key` names an outbox entry: the transport reports its ack or refusal. */
export interface OutgoingUpdate {
  readonly conversation: ConversationId
  readonly doc: string
  readonly lane: Lane | 'meta'
  readonly update: Uint8Array
  readonly key?: string
}

/** The events a transport emits to its client. */
export interface TransportEvents {
  /** The link changed state. */
  connection: (state: ConnectionState) => void
  /** The link's status changed (state, reason or retry wait); optional for a transport to emit. */
  'link-status': (status: LinkStatus) => void
  /**
   * A failure nobody waits for (a refused token, an unreachable server, an unreadable frame),
   * reported once per distinct failure, not once per retry; the client passes it to its `error`.
   */
  error: (error: TidingsError) => void
  /** A remote update for a subscribed conversation. */
  update: (event: { conversation: ConversationId; doc: string; update: Uint8Array }) => void
  /** The other side holds this state of a doc: answer with what it lacks (Yjs sync step 1). */
  'sync-request': (event: { conversation: ConversationId; doc: string; stateVector: Uint8Array }) => void
  /** The other side persisted these outbox entries. */
  ack: (event: { keys: readonly string[] }) => void
  /** The other side refused an outbox entry; the entry will never be accepted as it is. */
  refused: (event: { key: string; code: ErrorCode; reason: string }) => void
  /**
   * The server's clock differs from this device's by `offset` ms (server minus local), measured at
   * connect and reported again when it moves (the device's clock jumped) and after a `clock/skew`
   * refusal, so the client re-stamps what the server refused. The client corrects its physical
   * clock by it for this session only.
   */
  'clock-offset': (event: { offset: number }) => void
  /** The initial exchange of a subscription finished. */
  synced: (event: { conversation: ConversationId }) => void
  /**
   * A y-protocols awareness update (presence) for a subscribed conversation, its states stamped by
   * the other side with the publisher's `user` and `device`.
   */
  awareness: (event: { conversation: ConversationId; update: Uint8Array }) => void
}

/** Removes the listener or subscription it was returned for. */
export type Unsubscribe = () => void

/**
 * Carries updates between a client and the rest of the world. Implemented by `loopbackHub`,
 * `@tidings/transport-websocket` and others; any implementation must pass `runTransportConformance`.
 */
export interface Transport {
  /** The current state of the link. */
  readonly state: ConnectionState
  /**
   * The state with the reason and retry wait; the same object until it changes.
   * @remarks Optional: without it the client reports `{ state }`.
   */
  readonly linkStatus?: LinkStatus
  /** Registers a listener; returns the function that removes it. */
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): Unsubscribe
  /**
   * Starts connecting, and reconnecting after every loss, until `disconnect` or `close`.
   * @remarks Called once by the client that owns the transport.
   */
  connect(session: TransportSession): void
  /** Drops the link and stays offline until `connect` is called again. */
  disconnect(): void
  /**
   * Subscribes to a conversation, now and after every reconnect, announcing the docs held locally.
   * @remarks `have` is called at each (re)connect so the vectors are current.
   */
  subscribe(conversation: ConversationId, have: () => Promise<DocVector[]>): void
  /** Stops following a conversation: no more updates or presence for it. */
  unsubscribe(conversation: ConversationId): void
  /** Sends an update; while offline it is dropped (the client resends its outbox on reconnect). */
  send(update: OutgoingUpdate): void
  /**
   * Publishes a y-protocols awareness update (presence) to the subscribers of a conversation.
   * @remarks Optional: a transport without it carries no presence. Dropped while offline or before
   * the conversation's subscription reached the other side; the client publishes again after each
   * `synced`.
   */
  sendAwareness?(conversation: ConversationId, update: Uint8Array): void
  /** Stops for good. */
  close(): Promise<void>
  /**
   * True for a link to another client that writes on this one's behalf (a follower tab): this
   * client then makes no writes of its own accord (freeing a deleted message's copies, copying
   * edits to pins); the client it follows makes them.
   */
  readonly follower?: boolean
  /**
   * A follower's writes: when set, the client's conversations hand `send`, `edit`, `delete`, `pin`,
   * `unpin` and `markRead` to it, and take `pending()` and `status()` from the followed outbox.
   */
  readonly forward?: Forwarder
}
