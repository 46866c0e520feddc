import {
  type ConnectionState,
  type ConversationId,
  type DocVector,
  type ErrorCode,
  type OutgoingUpdate,
  parseDocName,
  type Transport,
  type TransportEvents,
  type TransportSession,
} from '@tidings/core'
import { decodeFrame, encodeFrame, type Frame } from '@tidings/protocol'
import WebSocket from 'ws'

/**
 * The smallest transport that speaks the Tidings protocol to this server, so core clients can be
 * tested against it without the real client transport (no reconnect, no credit, no priority).
 */
export const miniTransport = (url: string, token: string): Transport & { sockets: WebSocket[] } => {
  const listeners = new Map<string, Set<(payload: never) => void>>()
  const emit = (event: keyof TransportEvents, payload: unknown) => {
    for (const fn of listeners.get(event) ?? []) (fn as (p: unknown) => void)(payload)
  }
  const subscriptions = new Map<ConversationId, () => Promise<DocVector[]>>()
  const unsynced = new Map<string, Set<string>>()
  const refs = new Map<number, string>()
  const sockets: WebSocket[] = []
  /** Updates of a conversation wait for its manifest: the server refuses them before. */
  const held = new Map<string, OutgoingUpdate[]>()
  let nextRef = 1
  let ws: WebSocket | undefined
  let state: ConnectionState = 'offline'
  let ready = false

  const setState = (next: ConnectionState) => {
    if (state === next) return
    state = next
    emit('connection', next)
  }
  const send = (frame: Frame) => ws?.send(encodeFrame(frame))
  const maybeOnline = () => {
    if (ready && [...unsynced.values()].every((s) => s.size === 0)) setState('online')
  }
  const subscribeNow = (conversation: ConversationId) => {
    unsynced.set(conversation, new Set(['?']))
    setState('syncing')
    send({ type: 'subscribe', conversation, version: 0 })
  }
  const onManifest = async (frame: Extract<Frame, { type: 'manifest' }>) => {
    const pending = unsynced.get(frame.conversation)
    if (!pending?.has('?')) return
    const have = await subscriptions.get(frame.conversation as ConversationId)!()
    const vectors = new Map(have.map((v) => [v.doc, v.stateVector]))
    for (const c of frame.changes)
      if (!c.dropped && !vectors.has(c.doc)) vectors.set(c.doc, new Uint8Array([0]))
    pending.delete('?')
    for (const [doc, stateVector] of vectors) {
      pending.add(doc)
      send({ type: 'sync-step1', doc, stateVector })
    }
    const waiting = held.get(frame.conversation) ?? []
    held.delete(frame.conversation)
    for (const update of waiting) sendUpdate(update)
    if (pending.size === 0) emit('synced', { conversation: frame.conversation })
    maybeOnline()
  }
  const sendUpdate = (update: OutgoingUpdate) => {
    if (unsynced.get(update.conversation)?.has('?')) {
      held.set(update.conversation, [...(held.get(update.conversation) ?? []), update])
      return
    }
    if (update.key === undefined) {
      send({ type: 'sync-step2', doc: update.doc, update: update.update })
      return
    }
    const ref = nextRef++
    refs.set(ref, update.key)
    send({ type: 'update', doc: update.doc, ref, update: update.update })
  }
  const receive = (frame: Frame) => {
    switch (frame.type) {
      case 'welcome':
        ready = true
        for (const conversation of subscriptions.keys()) subscribeNow(conversation)
        maybeOnline()
        return
      case 'manifest':
        void onManifest(frame)
        return
      case 'sync-step2': {
        const conversation = parseDocName(frame.doc)!.conversation
        emit('update', { conversation, doc: frame.doc, update: frame.update })
        const pending = unsynced.get(conversation)
        if (pending?.delete(frame.doc) && pending.size === 0) {
          emit('synced', { conversation })
          maybeOnline()
        }
        return
      }
      case 'sync-step1':
        emit('sync-request', {
          conversation: parseDocName(frame.doc)!.conversation,
          doc: frame.doc,
          stateVector: frame.stateVector,
        })
        return
      case 'update':
        emit('update', {
          conversation: parseDocName(frame.doc)!.conversation,
          doc: frame.doc,
          update: frame.update,
        })
        return
      case 'ack': {
        const keys = frame.refs.map((ref) => refs.get(ref)).filter((k): k is string => k !== undefined)
        for (const ref of frame.refs) refs.delete(ref)
        emit('ack', { keys })
        return
      }
      case 'error': {
        const key = refs.get(frame.ref)
        if (key === undefined) return
        refs.delete(frame.ref)
        emit('refused', { key, code: frame.code as ErrorCode, reason: frame.reason })
        return
      }
      default:
    }
  }

  return {
    sockets,
    get state() {
      return state
    },
    on(event, listener) {
      const set = listeners.get(event) ?? new Set()
      set.add(listener as (payload: never) => void)
      listeners.set(event, set)
      return () => set.delete(listener as (payload: never) => void)
    },
    connect(session: TransportSession) {
      setState('connecting')
      ws = new WebSocket(url)
      sockets.push(ws)
      ws.on('open', () => send({ type: 'auth', token, device: session.device }))
      ws.on('message', (data: Buffer) => receive(decodeFrame(new Uint8Array(data))))
      ws.on('close', () => {
        ready = false
        setState('offline')
      })
    },
    disconnect() {
      ws?.close()
    },
    subscribe(conversation, have) {
      subscriptions.set(conversation, have)
      if (ready) subscribeNow(conversation)
    },
    unsubscribe(conversation) {
      subscriptions.delete(conversation)
      unsynced.delete(conversation)
      send({ type: 'unsubscribe', conversation })
    },
    send(update: OutgoingUpdate) {
      if (ready) sendUpdate(update)
    },
    async close() {
      ws?.close()
    },
  }
}
