import { type DocRef, parseDocName } from '@tidings/core'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { WebSocket } from 'ws'
import { messageYjsSyncStep1, messageYjsSyncStep2, messageYjsUpdate } from 'y-protocols/sync'
import * as Y from 'yjs'
import { AwarenessBytes, type AwarenessPeer, AwarenessRoom } from './awareness.js'
import type { UpdateJob, Writer } from './commit.js'
import type { ConversationState } from './conversations.js'
import { Refusal } from './decode.js'
import { authenticateSafely, type Hub, type RoomMember } from './hub.js'
import { Outgoing } from './lanes-queue.js'
import { TokenBucket } from './limits.js'
import type { Sender } from './rules.js'
import { toBytes } from './socket.js'

/** y-websocket message types, as its server utils number them. */
const messageSync = 0
const messageAwareness = 1
const messageQueryAwareness = 3

/** Messages a y-websocket client may send before its room is ready (step 1, awareness, a few updates). */
const EARLY_MESSAGES = 64

/**
 * Updates one connection may have in the committer at once; further messages wait unread (TCP
 * pushes back). Kept small because the stock protocol has no acks to pace a client: a flood of
 * updates that will be refused then costs a few checks per connection before its refusals count.
 */
const MAX_UNCOMMITTED = 4

const syncMessage = (kind: number, payload: Uint8Array): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, messageSync)
  encoding.writeVarUint(e, kind)
  encoding.writeVarUint8Array(e, payload)
  return encoding.toUint8Array(e)
}

/**
 * One stock y-websocket client on `/y/<docName>`: sync step 1/2, updates and awareness, as
 * y-websocket's own server speaks them. Updates go through the same checks and commits as on the
 * Tidings protocol; refused ones are dropped (the stock protocol has no error message) but counted:
 * past `maxRefusals` the connection is closed (4400, which y-websocket takes as final). It has the
 * Tidings protocol's costs capped the same way: frame rate (`framesPerSecond`, `burst`,
 * `abuseBudget`), uncommitted bytes (`maxPendingBytes`: the socket is not read until the committer
 * catches up), and an idle timeout (`idleTimeoutMs`, fed by any frame or by the pong every client
 * sends to the server's WebSocket pings).
 */
export class YConnection implements Writer, RoomMember, AwarenessPeer {
  readonly echo = true
  readonly #ref: DocRef | undefined
  #abandoned = false
  readonly #out: Outgoing
  readonly #rate: TokenBucket
  readonly #abuse: TokenBucket
  /** Messages received and not handled yet: before the room opened, or while the socket is paused. */
  readonly #inbox: Uint8Array[] = []
  #inboxBytes = 0
  #sender: Sender | undefined
  #state: ConversationState | undefined
  #awareness: AwarenessRoom | undefined
  readonly bytes: AwarenessBytes
  #phase: 'starting' | 'open' | 'closed' = 'starting'
  /** Counted in `hub.unauthenticated` until `authenticate` answered or the connection closes. */
  #unauthenticated = true
  /** The user counted in `hub.userConnections` until the connection closes. */
  #countedUser: string | undefined
  #malformed = 0
  #holding = false
  /** Update bytes and jobs handed to the committer and not yet released. */
  #pending = 0
  #jobs = 0
  #paused = false
  /** The code this side closed with, for the log (the peer's echo may differ). */
  #closeCode: number | undefined
  /** Restarted by every frame and pong: a half-open link answers neither. */
  readonly #idleTimer: ReturnType<typeof setTimeout>
  /** Stock clients send nothing while idle, so the server pings; browsers answer on their own. */
  readonly #pinger: ReturnType<typeof setInterval>

  constructor(
    private readonly hub: Hub,
    private readonly ws: WebSocket,
    readonly name: string,
    token: string,
    device: string | null,
    /** The peer's address, for logs. */
    private readonly remote = '',
  ) {
    this.#ref = parseDocName(name)
    this.#out = new Outgoing(
      { send: (data, done) => ws.send(data, { binary: true }, done) },
      hub.limits.sendHighWater,
      hub.limits.maxQueuedBytes,
      () => this.close(1013, 'too far behind'),
    )
    const { limits } = hub
    this.bytes = new AwarenessBytes(limits.maxAwarenessStateBytes, limits.maxAwarenessBytes)
    this.#rate = new TokenBucket(limits.framesPerSecond, limits.burst)
    this.#abuse = new TokenBucket(limits.framesPerSecond / 2, limits.abuseBudget)
    this.#idleTimer = setTimeout(() => this.close(4000, 'idle: nothing received'), limits.idleTimeoutMs)
    this.#pinger = setInterval(() => {
      try {
        ws.ping()
      } catch {
        // Closing already: the close handler cleans up.
      }
    }, limits.idleTimeoutMs / 3)
    hub.connections.add(this)
    hub.unauthenticated++
    ws.on('pong', () => this.#idleTimer.refresh())
    ws.on('message', (data) => {
      this.#idleTimer.refresh()
      hub.metrics.frameIn('y-websocket')
      try {
        this.#receive(toBytes(data))
      } catch (error) {
        hub.report(error)
      }
    })
    ws.on('close', (code) => this.#closed(code))
    ws.on('error', () => this.close(1011, 'socket error'))
    this.#start(token, device).catch((error) => {
      hub.report(error)
      this.close(1011, 'could not open the doc')
    })
  }

  /** The device named with `?device=` and bound to the user, if any. */
  get device(): string | undefined {
    return this.#sender?.device ?? undefined
  }

  /** The authenticated user (empty until `authenticate` answered; presence is joined after). */
  get user(): string {
    return this.#sender?.userId ?? ''
  }

  sendUpdate(update: Uint8Array): void {
    this.#send(syncMessage(messageYjsUpdate, update))
  }

  sendAwareness(update: Uint8Array): void {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, messageAwareness)
    encoding.writeVarUint8Array(e, update)
    this.#send(encoding.toUint8Array(e))
  }

  refused(job: UpdateJob, refusal: Refusal): void {
    this.hub.metrics.refused(refusal.code)
    this.hub.log.info(
      { user: this.user, device: this.device, code: refusal.code, doc: job.doc, reason: refusal.message },
      'refused',
    )
    if (refusal.code === 'protocol/malformed') this.#countMalformed()
    this.#countRefusal()
  }

  acked(): void {}

  failed(): void {
    this.close(1011, 'storage failed')
  }

  released(bytes: number): void {
    this.#pending -= bytes
    this.#jobs--
    if (this.#paused && this.#pending < this.hub.limits.maxPendingBytes / 2 && this.#jobs < MAX_UNCOMMITTED) {
      this.#paused = false
      this.ws.resume()
      this.#drain()
    }
  }

  /** Closed for abuse (4400, 4429): the committer drops this connection's queued updates unread. */
  get abandoned(): boolean {
    return this.#abandoned
  }

  close(code: number, reason: string): void {
    if (this.#phase === 'closed') return
    if (code === 4400 || code === 4429) this.#abandoned = true
    // A paused socket would not read the client's answer to the close frame.
    if (this.#paused) this.ws.resume()
    this.#closeCode = code
    try {
      this.ws.close(code, reason)
    } catch {
      this.ws.terminate()
    }
    this.#closed()
  }

  async #start(token: string, device: string | null): Promise<void> {
    const ref = this.#ref
    const context = { doc: this.name, ...(device ? { device } : {}) }
    // A plain doc is authorized by its own name, never by the connection-wide `null`: an
    // `authenticate` that checks conversation membership refuses it unless it knows that name.
    const result = ref
      ? await authenticateSafely(this.hub, token, ref.conversation, context)
      : await authenticateSafely(this.hub, token, this.name, { ...context, plainDoc: true })
    this.#authenticated()
    if (this.#phase === 'closed') return
    // 44xx: y-websocket treats these as final and stops reconnecting.
    if (!result) {
      this.hub.metrics.refused('auth/denied')
      this.hub.log.warn({ remote: this.remote, device: device ?? undefined, doc: this.name }, 'auth refused')
      return this.close(4401, 'auth refused')
    }
    if (!this.hub.refusals.allows(result.userId)) return this.close(4429, 'too many refused messages: wait')
    // Counted with the user's Tidings connections: each one holds a doc, queues and a socket.
    if (!this.hub.userConnections.add(result.userId)) return this.close(4429, 'too many connections')
    this.#countedUser = result.userId
    // A device named with `?device=` is bound to its first user, as on the Tidings protocol.
    if (device !== null && !(await this.hub.devices.claim(device, result.userId))) {
      this.hub.metrics.refused('auth/denied')
      this.hub.log.warn(
        { remote: this.remote, device, doc: this.name, reason: 'device of another user' },
        'auth refused',
      )
      return this.close(4401, 'auth refused: the device belongs to another user')
    }
    if ((this.#phase as string) === 'closed') return
    this.#sender = {
      userId: result.userId,
      device,
      canWrite: result.canWrite,
      canAdmin: result.canAdmin === true,
    }
    if (ref) this.#state = await this.hub.conversations.open(ref.conversation)
    const doc = await this.hub.docs.hold(this.name)
    this.#holding = true
    if ((this.#phase as string) === 'closed') return this.#closed()
    let members = this.hub.rooms.get(this.name)
    if (!members) {
      members = new Set()
      this.hub.rooms.set(this.name, members)
    }
    members.add(this)
    this.#awareness = this.#awarenessRoom()
    this.#phase = 'open'
    this.hub.log.info(
      { user: this.user, device: this.device, remote: this.remote, protocol: 'y-websocket', doc: this.name },
      'connection opened',
    )
    this.#send(syncMessage(messageYjsSyncStep1, Y.encodeStateVector(doc)))
    this.#awareness.join(this)
    this.#drain()
  }

  /** A conversation's meta room shares the conversation's presence; other rooms have their own. */
  #awarenessRoom(): AwarenessRoom {
    if (this.#state && this.#ref?.kind === 'meta') return this.#state.awareness
    let room = this.hub.roomAwareness.get(this.name)
    if (!room) {
      room = new AwarenessRoom(this.hub.limits.maxAwarenessClients)
      this.hub.roomAwareness.set(this.name, room)
    }
    return room
  }

  #receive(bytes: Uint8Array): void {
    if (this.#phase === 'closed' || this.hub.closing) return
    // Over the rate: dropped (the stock protocol cannot say so), and closed if it goes on.
    if (!this.#rate.take()) {
      if (!this.#abuse.take()) this.close(4429, 'rate limit')
      return
    }
    this.#inbox.push(bytes)
    this.#inboxBytes += bytes.length
    if (this.#phase === 'starting' && this.#inbox.length > EARLY_MESSAGES)
      this.close(4408, 'too many messages before the room opened')
    // ws may still emit what it had read when the socket was paused; no more than this.
    else if (this.#inboxBytes > this.hub.limits.maxPendingBytes) this.close(4429, 'too many unread messages')
    else this.#drain()
  }

  /** Handles waiting messages in order while the room is open and the committer keeps up. */
  #drain(): void {
    while (this.#phase === 'open' && !this.#paused && this.#inbox.length > 0) {
      const bytes = this.#inbox.shift()!
      this.#inboxBytes -= bytes.length
      this.#handle(bytes)
    }
  }

  #handle(bytes: Uint8Array): void {
    try {
      const d = decoding.createDecoder(bytes)
      const type = decoding.readVarUint(d)
      if (type === messageSync) {
        const kind = decoding.readVarUint(d)
        const payload = decoding.readVarUint8Array(d)
        if (kind === messageYjsSyncStep1) this.#syncStep1(payload)
        else if (kind !== messageYjsSyncStep2 && kind !== messageYjsUpdate)
          throw new Error(`sync message ${kind}`)
        else this.#commit(payload)
      } else if (type === messageAwareness) {
        this.#awareness?.apply(this, decoding.readVarUint8Array(d))
      } else if (type === messageQueryAwareness) {
        this.#awareness?.snapshot(this)
      }
      // Anything else (auth messages included) is ignored, as y-websocket's server does.
    } catch (error) {
      if (error instanceof Refusal && error.code !== 'protocol/malformed') this.#countRefusal()
      else this.#countMalformed()
    }
  }

  /**
   * Hands an update to the committer. Past `maxPendingBytes` uncommitted bytes or
   * `MAX_UNCOMMITTED` updates, the socket is not read until the committer is done with them.
   */
  #commit(update: Uint8Array): void {
    this.#pending += update.length
    this.#jobs++
    if (!this.#paused && (this.#pending > this.hub.limits.maxPendingBytes || this.#jobs >= MAX_UNCOMMITTED)) {
      this.#paused = true
      this.ws.pause()
    }
    this.hub.committer.push({
      writer: this,
      sender: this.#sender!,
      ref: this.#ref,
      doc: this.name,
      update,
      frameRef: 0,
    })
  }

  #syncStep1(stateVector: Uint8Array): void {
    const doc = this.hub.docs.peek(this.name)
    if (!doc) {
      // Unloaded after a failed write: reload, then answer.
      this.hub.docs.get(this.name).then(() => this.#syncStep1(stateVector), this.hub.report)
      return
    }
    this.#send(syncMessage(messageYjsSyncStep2, Y.encodeStateAsUpdate(doc, stateVector)))
  }

  #countMalformed(): void {
    if (++this.#malformed >= this.hub.limits.maxMalformed) this.close(4400, 'too many malformed messages')
  }

  #countRefusal(): void {
    if (!this.hub.refusals.take(this.user)) this.close(4400, 'too many refused messages')
  }

  #send(bytes: Uint8Array): void {
    if (this.#phase === 'closed') return
    this.hub.metrics.frameOut('y-websocket')
    this.#out.push('normal', bytes)
  }

  #authenticated(): void {
    if (this.#unauthenticated) this.hub.unauthenticated--
    this.#unauthenticated = false
  }

  #closed(peerCode?: number): void {
    if (this.hub.connections.has(this))
      this.hub.log.info(
        {
          user: this.user || undefined,
          device: this.device,
          remote: this.remote,
          code: this.#closeCode ?? peerCode,
        },
        'connection closed',
      )
    this.#authenticated()
    if (this.#countedUser !== undefined) this.hub.userConnections.remove(this.#countedUser)
    this.#countedUser = undefined
    const wasOpen = this.#phase !== 'closed'
    this.#phase = 'closed'
    clearTimeout(this.#idleTimer)
    clearInterval(this.#pinger)
    this.#out.close()
    this.hub.connections.delete(this)
    if (!wasOpen && !this.#holding) return
    const members = this.hub.rooms.get(this.name)
    members?.delete(this)
    if (members?.size === 0) this.hub.rooms.delete(this.name)
    // An empty room keeps its awareness claims until the server sweeps it (`docIdleMs`).
    this.#awareness?.leave(this)
    this.#awareness = undefined
    if (this.#holding) {
      this.#holding = false
      this.hub.docs.release(this.name)
    }
    if (this.#state) this.#state.lastUsed = this.hub.now()
  }
}
