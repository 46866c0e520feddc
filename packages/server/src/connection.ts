import { isDeviceId } from '@tidings/core'
import { decodeFrame, encodeFrame, type Frame, type FrameOf } from '@tidings/protocol'
import type { WebSocket } from 'ws'
import { AwarenessBytes } from './awareness.js'
import type { UpdateJob, Writer } from './commit.js'
import type { Subscriber } from './conversations.js'
import { Refusal, type RefusalCode } from './decode.js'
import { yieldIfBusy } from './fairness.js'
import { authenticateSafely, type Hub } from './hub.js'
import { type Bucket, Outgoing } from './lanes-queue.js'
import { TokenBucket } from './limits.js'
import { RefusalBudget, refusalCost } from './quotas.js'
import { corkingSink, toBytes } from './socket.js'
import { Subscriptions } from './subscriptions.js'

/** One client on the Tidings protocol: auth, subscriptions, sync, updates, presence, heartbeat. */
export class TidingsConnection implements Writer, Subscriber {
  #phase: 'auth' | 'authenticating' | 'open' | 'closed' = 'auth'
  #token = ''
  #device = ''
  /** The user the connection authenticated as, who owns `#device`. */
  #user = ''
  readonly #subs: Subscriptions
  readonly #out: Outgoing
  readonly #rate: TokenBucket
  readonly #abuse: TokenBucket
  readonly #refusals: RefusalBudget
  /** The authenticated user, counted in `hub.userConnections` until the connection closes. */
  #countedUser: string | undefined
  #abandoned = false
  /** Counted in `hub.unauthenticated` until `auth` succeeds or the connection closes. */
  #unauthenticated = true
  /** Requests wait (and the socket is not read) while the client leaves our answers unread. */
  #backlogged = false
  /**
   * Frames a client pipelined behind its auth frame (subscriptions, its outbox), kept in order until
   * the auth succeeds; past `authMaxBytes` the socket is not read until then.
   */
  #early: { readonly bytes: Uint8Array; readonly isBinary: boolean }[] = []
  #earlyBytes = 0
  #malformed = 0
  #authFrames = 0
  #authBytes = 0
  #pending = 0
  #paused = false
  /** The code this side closed with, for the log (the peer's echo may differ). */
  #closeCode: number | undefined
  #chain: Promise<void> = Promise.resolve()
  readonly #authTimer: ReturnType<typeof setTimeout>
  /** Restarted by every received frame: a half-open link (a 4G handover) sends nothing. */
  readonly #idleTimer: ReturnType<typeof setTimeout>

  constructor(
    private readonly hub: Hub,
    private readonly ws: WebSocket,
    /** The peer's address, for logs. */
    private readonly remote = '',
  ) {
    const { limits } = hub
    this.#out = new Outgoing(
      corkingSink(ws),
      limits.sendHighWater,
      limits.maxQueuedBytes,
      () => this.close(1013, 'too far behind: reconnect and resync'),
      {
        budget: hub.outgoing,
        stallMs: limits.sendStallMs,
        // A socket that takes nothing would hold a close frame (and its buffers) for ws's 30 s.
        stalled: () => this.close(1013, 'not reading: reconnect and resync', true),
      },
    )
    this.#rate = new TokenBucket(limits.framesPerSecond, limits.burst)
    this.#abuse = new TokenBucket(limits.framesPerSecond / 2, limits.abuseBudget)
    this.#refusals = new RefusalBudget(limits.refusalBudget)
    this.#subs = new Subscriptions(
      hub,
      this,
      (bucket, frame) => this.send(bucket, frame),
      new AwarenessBytes(limits.maxAwarenessStateBytes, limits.maxAwarenessBytes),
    )
    this.#authTimer = setTimeout(() => {
      if (this.#phase === 'auth' || this.#phase === 'authenticating') this.close(4408, 'auth timeout')
    }, limits.authTimeoutMs)
    this.#idleTimer = setTimeout(() => this.close(4000, 'idle: no frame received'), limits.idleTimeoutMs)
    hub.connections.add(this)
    hub.unauthenticated++
    ws.on('message', (data, isBinary) => {
      this.#idleTimer.refresh()
      try {
        this.#receive(toBytes(data), isBinary)
      } catch (error) {
        hub.report(error)
      }
    })
    ws.on('close', (code) => this.#closed(code))
    ws.on('error', () => this.close(1011, 'socket error'))
  }

  /** Queues a frame in its bucket. */
  send(bucket: Bucket, frame: Frame): void {
    this.sendEncoded(bucket, encodeFrame(frame), frame.type)
  }

  sendEncoded(bucket: Bucket, bytes: Uint8Array, type: Frame['type']): void {
    if (this.#phase === 'closed') return
    this.hub.metrics.frameOut(type)
    this.#out.push(bucket, bytes)
  }

  /** Closes with a close frame, or at once (`terminate`) when the peer reads nothing anyway. */
  close(code: number, reason: string, terminate = false): void {
    if (this.#phase === 'closed') return
    this.#phase = 'closed'
    clearTimeout(this.#idleTimer)
    clearTimeout(this.#authTimer)
    this.#out.close()
    this.#closeCode = code
    try {
      if (terminate) this.ws.terminate()
      else {
        this.ws.close(code, reason)
        // A socket paused for back-pressure would never read the peer's close frame.
        this.ws.resume()
      }
    } catch {
      this.ws.terminate()
    }
    this.#closed()
  }

  /** Closed for abuse: the committer drops this connection's queued updates unread. */
  get abandoned(): boolean {
    return this.#abandoned
  }

  refused(job: UpdateJob, refusal: Refusal): void {
    this.#error(job.doc, refusal.code, refusal.message, job.frameRef)
    this.#countRefusal(refusal, job.update.length)
  }

  acked(refs: readonly number[]): void {
    this.send('session', { type: 'ack', refs })
  }

  failed(): void {
    this.close(1011, 'storage failed: reconnect and resend')
  }

  released(bytes: number): void {
    this.#pending -= bytes
    if (this.#paused && this.#pending < this.hub.limits.maxPendingBytes / 2) {
      this.#paused = false
      this.#flow()
    }
  }

  /** Reads the socket only while neither uncommitted input nor unread output piles up. */
  #flow(): void {
    if (this.#phase === 'closed') return
    if (this.#paused || this.#backlogged || this.#earlyBytes > this.hub.limits.authMaxBytes) this.ws.pause()
    else this.ws.resume()
  }

  #receive(bytes: Uint8Array, isBinary: boolean): void {
    if (this.#phase === 'closed' || this.hub.closing) return
    if (this.#phase === 'authenticating') {
      this.#early.push({ bytes, isBinary })
      this.#earlyBytes += bytes.length
      this.#flow()
      return
    }
    if (this.#phase !== 'open') {
      this.#receiveAuth(bytes)
      return
    }
    if (!this.#rate.take()) {
      if (!this.#abuse.take()) this.#abuseClose(4429, 'rate limit')
      else this.#error('', 'quota/exceeded', 'too many frames per second', refOf(bytes))
      return
    }
    let frame: Frame
    try {
      if (!isBinary) throw new Error('text frames are not part of the protocol')
      frame = decodeFrame(bytes)
    } catch (error) {
      this.#malformedFrame((error as Error).message)
      return
    }
    this.hub.metrics.frameIn(frame.type)
    this.#pending += bytes.length
    if (this.#pending > this.hub.limits.maxPendingBytes && !this.#paused) {
      // Stop reading the socket until the committer catches up: TCP pushes back on the client.
      this.#paused = true
      this.#flow()
    }
    // Frames are handled one at a time, in order; a failure never stops the chain.
    this.#chain = this.#chain.then(() => this.#handle(frame, bytes.length)).catch(this.hub.report)
  }

  #receiveAuth(bytes: Uint8Array): void {
    const { limits } = this.hub
    this.#authFrames++
    this.#authBytes += bytes.length
    if (this.#authFrames > limits.authMaxFrames || this.#authBytes > limits.authMaxBytes) {
      this.close(4408, 'unauthenticated budget exceeded')
      return
    }
    let frame: Frame
    try {
      frame = decodeFrame(bytes)
    } catch (error) {
      this.#error('', 'protocol/malformed', (error as Error).message, 0)
      this.close(4400, 'malformed auth frame')
      return
    }
    this.hub.metrics.frameIn(frame.type)
    if (frame.type !== 'auth') {
      this.#authRefused('', 'the first frame must be auth')
      this.close(4401, 'auth required')
      return
    }
    this.#phase = 'authenticating'
    this.#authenticate(frame).catch((error) => {
      this.hub.report(error)
      this.close(1011, 'auth failed')
    })
  }

  async #authenticate(frame: FrameOf<'auth'>): Promise<void> {
    const result = isDeviceId(frame.device)
      ? await authenticateSafely(this.hub, frame.token, null, { device: frame.device })
      : undefined
    if (this.#phase !== 'authenticating') return
    if (!result) {
      this.#authRefused(frame.device, 'the token or device id was refused')
      return this.close(4401, 'auth refused')
    }
    // A device belongs to the user who first used it on this server, everywhere.
    const owns = await this.hub.devices.claim(frame.device, result.userId)
    if (this.#phase !== 'authenticating') return
    if (!owns) {
      this.#authRefused(
        frame.device,
        `device ${frame.device} belongs to another user: a storage and its device serve one user, so sign in as that user or give this one a storage of their own`,
      )
      return this.close(4401, 'auth refused')
    }
    clearTimeout(this.#authTimer)
    this.#token = frame.token
    this.#device = frame.device
    this.#user = result.userId
    this.#phase = 'open'
    this.#authenticated()
    if (!this.hub.userConnections.add(result.userId)) {
      const max = this.hub.limits.maxConnectionsPerUser
      this.#error('', 'quota/exceeded', `more than ${max} connections for this user`, 0)
      return this.close(4429, 'too many connections')
    }
    this.#countedUser = result.userId
    this.hub.log.info(
      { user: this.#user, device: this.#device, remote: this.remote, protocol: 'tidings' },
      'connection opened',
    )
    this.send('session', { type: 'welcome', user: result.userId, serverTime: this.hub.now() })
    // What the client sent behind its auth, in the order it came, as if it came now.
    const early = this.#early
    this.#early = []
    this.#earlyBytes = 0
    for (const { bytes, isBinary } of early) this.#receive(bytes, isBinary)
    this.#flow()
  }

  async #handle(frame: Frame, size: number): Promise<void> {
    let queued = 0
    try {
      if (this.#phase !== 'open') return
      await yieldIfBusy()
      await this.#drained()
      if (this.#phase !== 'open') return
      queued = await this.#dispatch(frame)
    } catch (error) {
      if (error instanceof Refusal) {
        const doc = 'doc' in frame ? frame.doc : 'conversation' in frame ? frame.conversation : ''
        this.#error(doc, error.code, error.message, frame.type === 'update' ? frame.ref : 0)
        this.#countRefusal(error, size)
      } else {
        // Storage trouble or a bug: this client reconnects and resyncs; nobody else notices.
        this.hub.report(error)
        this.close(1011, 'internal error')
      }
    } finally {
      // Queued update bytes are given back when the committer is done with them.
      this.released(size - queued)
    }
  }

  /**
   * Waits while more than `sendHighWater` bytes of ours wait for this client, without reading its
   * socket: a client that asks for a big doc again and again but never reads gets one answer queued,
   * not sixty.
   */
  async #drained(): Promise<void> {
    const { sendHighWater } = this.hub.limits
    if (this.#out.queued <= sendHighWater) return
    this.#backlogged = true
    this.#flow()
    await this.#out.whenBelow(sendHighWater)
    this.#backlogged = false
    this.#flow()
  }

  /** Handles one frame; returns the update bytes it queued for the committer. */
  async #dispatch(frame: Frame): Promise<number> {
    switch (frame.type) {
      case 'subscribe':
        await this.#subs.subscribe(
          { token: this.#token, device: this.#device, user: this.#user },
          frame.conversation,
          frame.version,
          () => this.#phase === 'open',
        )
        return 0
      case 'unsubscribe':
        this.#subs.unsubscribe(frame.conversation)
        return 0
      case 'sync-step1':
        await this.#subs.syncStep1(frame.doc, frame.stateVector, frame.forwarded === true)
        return 0
      case 'sync-step2':
      case 'update': {
        const { ref, sub } = this.#subs.docOf(frame.doc)
        this.hub.committer.push({
          writer: this,
          sender: sub.sender,
          ref,
          doc: frame.doc,
          update: frame.update,
          frameRef: frame.type === 'update' ? frame.ref : 0,
        })
        return frame.update.length
      }
      case 'awareness': {
        const sub = this.#subs.get(frame.conversation)
        if (!sub) throw new Refusal('permission/denied', `subscribe to ${frame.conversation} first`)
        sub.state.awareness.apply(sub.peer, frame.update)
        return 0
      }
      case 'ping':
        this.send('session', { type: 'pong', time: frame.time, serverTime: this.hub.now() })
        return 0
      default:
        throw new Refusal('protocol/malformed', `a client does not send ${frame.type} frames`)
    }
  }

  #malformedFrame(reason: string): void {
    this.#error('', 'protocol/malformed', reason, 0)
    this.#countMalformed()
  }

  /** Every refusal counts against the refusal budget by size; malformed frames also against their own. */
  #countRefusal(refusal: Refusal, bytes: number): void {
    if (refusal.code === 'protocol/malformed') this.#countMalformed()
    if (!this.#refusals.spend(refusalCost(bytes, refusal.structs)))
      this.#abuseClose(4429, 'too many refused frames')
  }

  #abuseClose(code: number, reason: string): void {
    this.#abandoned = true
    this.close(code, reason)
  }

  #countMalformed(): void {
    if (++this.#malformed >= this.hub.limits.maxMalformed) this.#abuseClose(4400, 'too many malformed frames')
  }

  /** Refuses `auth`: logged as such (never with the token), counted with the other refusals. */
  #authRefused(device: string, reason: string): void {
    this.hub.log.warn({ remote: this.remote, device, reason }, 'auth refused')
    this.#error('', 'auth/denied', reason, 0, false)
  }

  #error(doc: string, code: RefusalCode, reason: string, ref: number, log = true): void {
    this.hub.metrics.refused(code)
    if (log) this.hub.log.info({ user: this.#user, device: this.#device, code, doc, reason }, 'refused')
    this.send('session', { type: 'error', doc, code, reason: reason.slice(0, 1000), ref })
  }

  #authenticated(): void {
    if (this.#unauthenticated) this.hub.unauthenticated--
    this.#unauthenticated = false
  }

  #closed(peerCode?: number): void {
    this.#phase = 'closed'
    if (this.hub.connections.has(this))
      this.hub.log.info(
        {
          user: this.#user || undefined,
          device: this.#device || undefined,
          remote: this.remote,
          code: this.#closeCode ?? peerCode,
        },
        'connection closed',
      )
    this.#authenticated()
    this.#early = []
    clearTimeout(this.#authTimer)
    clearTimeout(this.#idleTimer)
    this.#out.close()
    this.hub.connections.delete(this)
    if (this.#countedUser !== undefined) this.hub.userConnections.remove(this.#countedUser)
    this.#countedUser = undefined
    this.#subs.clear()
  }
}

/** The ref of an update frame, best effort, so a refusal for rate can name it. */
const refOf = (bytes: Uint8Array): number => {
  try {
    const frame = decodeFrame(bytes)
    return frame.type === 'update' ? frame.ref : 0
  } catch {
    return 0
  }
}
