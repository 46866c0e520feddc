import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { messageYjsSyncStep1, messageYjsSyncStep2, messageYjsUpdate } from 'y-protocols/sync'

/**
 * Frame type numbers: the first varUint of every frame. Each frame is `[type][docName][payload]`
 * in lib0 encoding; `docName` is a conversation id for conversation-level frames and empty when
 * the frame concerns the connection.
 */
export const FrameType = {
  auth: 0,
  welcome: 1,
  subscribe: 2,
  unsubscribe: 3,
  manifest: 4,
  sync: 5,
  awareness: 6,
  ack: 7,
  ping: 8,
  pong: 9,
  error: 10,
} as const

/** Largest frame the client sends for one outbox entry; bigger updates are split by the sender. */
export const MAX_FRAME_BYTES = 64 * 1024

/** A doc created or dropped since a client's manifest version. */
export interface ManifestChange {
  readonly doc: string
  readonly dropped: boolean
}

/** Every frame of the Tidings protocol, by its `type`. */
export type Frame =
  /** Client → server, first frame: the token never travels in the URL. */
  | { readonly type: 'auth'; readonly token: string; readonly device: string }
  /** Server → client after auth: who the server says you are, and its clock for the offset. */
  | { readonly type: 'welcome'; readonly user: string; readonly serverTime: number }
  /** Client → server: follow a conversation; `version` is the last manifest version seen (0: none). */
  | { readonly type: 'subscribe'; readonly conversation: string; readonly version: number }
  | { readonly type: 'unsubscribe'; readonly conversation: string }
  /**
   * Server → client: the docs created or dropped since `since`, the new `version` (it only rises),
   * and `retainedFrom`. `full` means `changes` lists every doc (the client's version was unknown).
   */
  | {
      readonly type: 'manifest'
      readonly conversation: string
      readonly since: number
      readonly version: number
      readonly full: boolean
      readonly retainedFrom: number
      readonly changes: readonly ManifestChange[]
    }
  /**
   * Yjs sync step 1: the sender's state vector; the receiver answers with step 2. `forwarded`
   * (client → server) says the client took every update of the doc forwarded on this connection
   * since a manifest listed it as created: the step 2 then leaves out what those forwards carried
   * (they may still be in flight, and would arrive twice). Carried in the frame's ref, 0 otherwise.
   */
  | {
      readonly type: 'sync-step1'
      readonly doc: string
      readonly stateVector: Uint8Array
      readonly forwarded?: boolean
    }
  /** Yjs sync step 2: what the receiver of a step 1 lacks. */
  | { readonly type: 'sync-step2'; readonly doc: string; readonly update: Uint8Array }
  /** One update; a nonzero `ref` asks for an ack (or an error naming the ref) after the commit. */
  | { readonly type: 'update'; readonly doc: string; readonly ref: number; readonly update: Uint8Array }
  /** y-protocols awareness update for a conversation's presence. */
  | { readonly type: 'awareness'; readonly conversation: string; readonly update: Uint8Array }
  /** Server → client: these refs are committed. */
  | { readonly type: 'ack'; readonly refs: readonly number[] }
  | { readonly type: 'ping'; readonly time: number }
  | { readonly type: 'pong'; readonly time: number; readonly serverTime: number }
  /** A refusal: `ref` names the refused update (0: none), `doc` what it concerned. */
  | {
      readonly type: 'error'
      readonly doc: string
      readonly code: string
      readonly reason: string
      readonly ref: number
    }

/** The frame of one `type`. */
export type FrameOf<T extends Frame['type']> = Extract<Frame, { type: T }>

/** A frame that could not be read. Carries the code the server sends back. */
export class MalformedFrameError extends Error {
  override readonly name = 'MalformedFrameError'
  readonly code = 'protocol/malformed'
}

const MAX_NAME = 512
const MAX_STRING = 64 * 1024
const MAX_LIST = 100_000

/** Encodes a frame as `[type][docName][payload]` bytes (lib0 encoding). */
export const encodeFrame = (frame: Frame): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(
    e,
    FrameType[
      frame.type === 'sync-step1' || frame.type === 'sync-step2' || frame.type === 'update'
        ? 'sync'
        : frame.type
    ],
  )
  switch (frame.type) {
    case 'auth':
      encoding.writeVarString(e, '')
      encoding.writeVarString(e, frame.token)
      encoding.writeVarString(e, frame.device)
      break
    case 'welcome':
      encoding.writeVarString(e, '')
      encoding.writeVarString(e, frame.user)
      encoding.writeFloat64(e, frame.serverTime)
      break
    case 'subscribe':
      encoding.writeVarString(e, frame.conversation)
      encoding.writeVarUint(e, frame.version)
      break
    case 'unsubscribe':
      encoding.writeVarString(e, frame.conversation)
      break
    case 'manifest':
      encoding.writeVarString(e, frame.conversation)
      encoding.writeVarUint(e, frame.since)
      encoding.writeVarUint(e, frame.version)
      encoding.writeUint8(e, frame.full ? 1 : 0)
      encoding.writeFloat64(e, frame.retainedFrom)
      encoding.writeVarUint(e, frame.changes.length)
      for (const change of frame.changes) {
        encoding.writeVarString(e, change.doc)
        encoding.writeUint8(e, change.dropped ? 1 : 0)
      }
      break
    case 'sync-step1':
      encoding.writeVarString(e, frame.doc)
      encoding.writeVarUint(e, frame.forwarded ? 1 : 0)
      encoding.writeVarUint(e, messageYjsSyncStep1)
      encoding.writeVarUint8Array(e, frame.stateVector)
      break
    case 'sync-step2':
      encoding.writeVarString(e, frame.doc)
      encoding.writeVarUint(e, 0)
      encoding.writeVarUint(e, messageYjsSyncStep2)
      encoding.writeVarUint8Array(e, frame.update)
      break
    case 'update':
      encoding.writeVarString(e, frame.doc)
      encoding.writeVarUint(e, frame.ref)
      encoding.writeVarUint(e, messageYjsUpdate)
      encoding.writeVarUint8Array(e, frame.update)
      break
    case 'awareness':
      encoding.writeVarString(e, frame.conversation)
      encoding.writeVarUint8Array(e, frame.update)
      break
    case 'ack':
      encoding.writeVarString(e, '')
      encoding.writeVarUint(e, frame.refs.length)
      for (const ref of frame.refs) encoding.writeVarUint(e, ref)
      break
    case 'ping':
      encoding.writeVarString(e, '')
      encoding.writeFloat64(e, frame.time)
      break
    case 'pong':
      encoding.writeVarString(e, '')
      encoding.writeFloat64(e, frame.time)
      encoding.writeFloat64(e, frame.serverTime)
      break
    case 'error':
      encoding.writeVarString(e, frame.doc)
      encoding.writeVarString(e, frame.code)
      encoding.writeVarString(e, frame.reason)
      encoding.writeVarUint(e, frame.ref)
      break
  }
  return encoding.toUint8Array(e)
}

/**
 * Reads one frame, refusing anything malformed: unknown types, truncation, trailing bytes,
 * oversized names and lists, non-finite numbers.
 * @throws MalformedFrameError
 */
export const decodeFrame = (bytes: Uint8Array): Frame => {
  try {
    const d = decoding.createDecoder(bytes)
    const type = decoding.readVarUint(d)
    const name = readString(d, MAX_NAME)
    const frame = readPayload(d, type, name)
    if (decoding.hasContent(d)) throw new MalformedFrameError('trailing bytes after the frame')
    return frame
  } catch (error) {
    if (error instanceof MalformedFrameError) throw error
    throw new MalformedFrameError(`unreadable frame: ${(error as Error).message}`)
  }
}

const readPayload = (d: decoding.Decoder, type: number, name: string): Frame => {
  switch (type) {
    case FrameType.auth:
      return { type: 'auth', token: readString(d, MAX_STRING), device: readString(d, MAX_NAME) }
    case FrameType.welcome:
      return { type: 'welcome', user: readString(d, MAX_NAME), serverTime: readTime(d) }
    case FrameType.subscribe:
      return { type: 'subscribe', conversation: required(name), version: decoding.readVarUint(d) }
    case FrameType.unsubscribe:
      return { type: 'unsubscribe', conversation: required(name) }
    case FrameType.manifest: {
      const since = decoding.readVarUint(d)
      const version = decoding.readVarUint(d)
      const full = decoding.readUint8(d) === 1
      const retainedFrom = readTime(d)
      const changes = readList(d, () => ({
        doc: readString(d, MAX_NAME),
        dropped: decoding.readUint8(d) === 1,
      }))
      return { type: 'manifest', conversation: required(name), since, version, full, retainedFrom, changes }
    }
    case FrameType.sync: {
      const ref = decoding.readVarUint(d)
      const kind = decoding.readVarUint(d)
      const payload = decoding.readVarUint8Array(d)
      const doc = required(name)
      if (kind === messageYjsSyncStep1)
        return { type: 'sync-step1', doc, stateVector: payload, ...(ref === 1 ? { forwarded: true } : {}) }
      if (kind === messageYjsSyncStep2) return { type: 'sync-step2', doc, update: payload }
      if (kind === messageYjsUpdate) return { type: 'update', doc, ref, update: payload }
      throw new MalformedFrameError(`unknown sync message ${kind}`)
    }
    case FrameType.awareness:
      return { type: 'awareness', conversation: required(name), update: decoding.readVarUint8Array(d) }
    case FrameType.ack:
      return { type: 'ack', refs: readList(d, () => decoding.readVarUint(d)) }
    case FrameType.ping:
      return { type: 'ping', time: readTime(d) }
    case FrameType.pong:
      return { type: 'pong', time: readTime(d), serverTime: readTime(d) }
    case FrameType.error:
      return {
        type: 'error',
        doc: name,
        code: readString(d, MAX_NAME),
        reason: readString(d, MAX_STRING),
        ref: decoding.readVarUint(d),
      }
    default:
      throw new MalformedFrameError(`unknown frame type ${type}`)
  }
}

const readString = (d: decoding.Decoder, max: number): string => {
  const text = decoding.readVarString(d)
  if (text.length > max) throw new MalformedFrameError(`a string of ${text.length} characters exceeds ${max}`)
  return text
}

const required = (name: string): string => {
  if (name === '') throw new MalformedFrameError('the frame needs a doc or conversation name')
  return name
}

const readTime = (d: decoding.Decoder): number => {
  const time = decoding.readFloat64(d)
  if (!Number.isFinite(time)) throw new MalformedFrameError('a time that is not finite')
  return time
}

const readList = <T>(d: decoding.Decoder, read: () => T): T[] => {
  const n = decoding.readVarUint(d)
  if (n > MAX_LIST) throw new MalformedFrameError(`a list of ${n} items exceeds ${MAX_LIST}`)
  const items: T[] = []
  for (let i = 0; i < n; i++) items.push(read())
  return items
}
