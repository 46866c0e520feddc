import { type DocRef, parseDocName } from '@tidings/core'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { WebSocket } from 'ws'
import { messageYjsSyncStep1, messageYjsSyncStep2, messageYjsUpdate } from 'y-protocols/sync'
import * as Y from 'yjs'
import { type AwarenessPeer, AwarenessRoom } from './awareness.js'
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
 * Tidings protocol; refused ones are dropped (the stock protocol has no error message).
 */
export class YConnection implements Writer, RoomMember, AwarenessPeer {
  readonly echo = true
  readonly #ref: DocRef | undefined
  readonly #out: Outgoing
  readonly #rate: TokenBucket
  readonly #early: Uint8Array[] = []
  #sender: Sender | undefined
  #state: ConversationState | undefined
  #awareness: AwarenessRoom | undefined
  #phase: 'starting' | 'open' | 'closed' = 'starting'
  #malformed = 0
  #holding = false

  constructor(
    private readonly hub: Hub,
    private readonly ws: WebSocket,
    readonly name: string,
    token: string,
    device: string | null,
  ) {
    this.#ref = parseDocName(name)
    this.#out = new Outgoing(
      { send: (data, done) => ws.send(data, { binary: true }, done) },
      hub.limits.sendHighWater,
      hub.limits.maxQueuedBytes,
      () => this.close(1013, 'too far behind'),
    )
    this.#rate = new TokenBucket(hub.limits.framesPerSecond, hub.limits.burst)
    hub.connections.add(this)
    ws.on('message', (data) => {
      try {
        this.#receive(toBytes(data))
      } catch (error) {
        hub.report(error)
      }
    })
    ws.on('close', () => this.#closed())
    ws.on('error', () => this.close(1011, 'socket error'))
    this.#start(token, device).catch((error) => {
      hub.report(error)
      this.close(1011, 'could not open the doc')
    })
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

  refused(_job: UpdateJob, refusal: Refusal): void {
    if (refusal.code === 'protocol/malformed') this.#countMalformed()
  }

  acked(): void {}

  failed(): void {
    this.close(1011, 'storage failed')
  }

  released(): void {}

  close(code: number, reason: string): void {
    if (this.#phase === 'closed') return
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
    const result = await authenticateSafely(this.hub, token, ref ? ref.conversation : null, context)
    if (this.#phase === 'closed') return
    // 44xx: y-websocket treats these as final and stops reconnecting.
    if (!result) return this.close(4401, 'auth refused')
    // A device named with `?device=` is bound to its first user, as on the Tidings protocol.
    if (device !== null && !(await this.hub.devices.claim(device, result.userId))) {
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
    this.#send(syncMessage(messageYjsSyncStep1, Y.encodeStateVector(doc)))
    this.#awareness.join(this)
    for (const bytes of this.#early.splice(0)) this.#handle(bytes)
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
    if (this.#phase === 'starting') {
      this.#early.push(bytes)
      if (this.#early.length > EARLY_MESSAGES) this.close(4408, 'too many messages before the room opened')
      return
    }
    if (this.#rate.take()) this.#handle(bytes)
    else this.close(4429, 'rate limit')
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
        else
          this.hub.committer.push({
            writer: this,
            sender: this.#sender!,
            ref: this.#ref,
            doc: this.name,
            update: payload,
            frameRef: 0,
          })
      } else if (type === messageAwareness) {
        this.#awareness?.apply(this, decoding.readVarUint8Array(d))
      } else if (type === messageQueryAwareness) {
        this.#awareness?.snapshot(this)
      }
      // Anything else (auth messages included) is ignored, as y-websocket's server does.
    } catch (error) {
      if (error instanceof Refusal && error.code !== 'protocol/malformed') return
      this.#countMalformed()
    }
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

  #send(bytes: Uint8Array): void {
    if (this.#phase !== 'closed') this.#out.push('normal', bytes)
  }

  #closed(): void {
    const wasOpen = this.#phase !== 'closed'
    this.#phase = 'closed'
    this.#out.close()
    this.hub.connections.delete(this)
    if (!wasOpen && !this.#holding) return
    const members = this.hub.rooms.get(this.name)
    members?.delete(this)
    if (members?.size === 0) this.hub.rooms.delete(this.name)
    if (this.#awareness) {
      this.#awareness.leave(this)
      const own = this.hub.roomAwareness.get(this.name)
      if (own && own.size === 0) {
        own.destroy()
        this.hub.roomAwareness.delete(this.name)
      }
      this.#awareness = undefined
    }
    if (this.#holding) {
      this.#holding = false
      this.hub.docs.release(this.name)
    }
    if (this.#state) this.#state.lastUsed = this.hub.now()
  }
}
