export { type AwarenessEntry, decodeAwareness, encodeAwareness, isNewer } from './awareness.js'
export {
  type Client,
  type ClientEvents,
  type ClientOptions,
  type ConversationSummary,
  createClient,
} from './client.js'
export type { Timers } from './context.js'
export { Conversation, type Pin, type SendOptions } from './conversation.js'
export { Emitter } from './emitter.js'
export { type ErrorCode, isTidingsError, TidingsError } from './errors.js'
export type { ExportDoc, ExportHeader, ImportSource } from './export.js'
export type { ForwardedWrite, Forwarder } from './forward.js'
export { GroupCommit } from './group-commit.js'
export { compareStamps, HybridClock, isStamp, MAX_DRIFT, type Stamp } from './hlc.js'
export {
  type ConversationId,
  conversationId,
  type DeviceId,
  deviceId,
  isDeviceId,
  type MessageId,
  messageId,
  parseMessageId,
} from './ids.js'
export {
  compareSyncOrder,
  DEFAULT_PERIOD_MS,
  type DocRef,
  docAt,
  isPeriodMs,
  type Lane,
  laneDocName,
  MAX_PERIOD_MS,
  MIN_PERIOD_MS,
  metaDocName,
  type PeriodRef,
  PRIORITIES,
  type Priority,
  parseDocName,
  periodEnd,
  periodOf,
  periodStart,
  SYNC_ORDER,
} from './lanes.js'
export {
  type LoopbackFrame,
  type LoopbackHub,
  type LoopbackLinkOptions,
  type LoopbackOptions,
  type LoopbackTransport,
  loopbackHub,
} from './loopback.js'
export { type MemoryStorage, memoryStorage } from './memory-storage.js'
export {
  type ControlRecord,
  type Json,
  type Message,
  type MessageHeader,
  type MessageRecord,
  type MessageStatus,
  readControlRecord,
  readMessageRecord,
} from './message.js'
export { NameLocks } from './name-locks.js'
export { jsonEqual, type PinRecord, parseRecordKey, pinMatches, readPinRecord } from './pins.js'
export { type PresencePeer, type PresenceState, TYPING_MS } from './presence.js'
export { RangeSet, type RangeSetJSON } from './range-set.js'
export type {
  DocInfo,
  OutboxEntry,
  StorageAdapter,
  StoredUpdate,
  UpdateWrite,
  WriteBatch,
} from './storage.js'
export { checkBatch, checkClaims, copyBatch, mergeStoredRows, queueCheckedWrite } from './storage-batch.js'
export type {
  ConnectionState,
  DocVector,
  LinkStatus,
  OutgoingUpdate,
  Transport,
  TransportEvents,
  TransportSession,
  Unsubscribe,
} from './transport.js'
export { isEmptyUpdate, type KeySet, mergeUpdatesTree, readKeySets } from './updates.js'
