import { type AwarenessEntry, decodeAwareness, encodeAwareness } from '@tidings/core'
import { decodeFrame, encodeFrame, type Frame, type FrameOf } from '@tidings/protocol'
import WebSocket from 'ws'

/** Polls `check` every few ms until it holds; fails after `ms`, naming `what`. */
export const until = async (check: () => boolean, what: string, ms = 5000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A hand-driven Tidings protocol connection: what an attacker with a valid token can send. */
export interface RawPeer {
  readonly user: string
  readonly device: string
  readonly frames: Frame[]
  readonly closed: { code?: number }
  send(frame: Frame): void
  subscribe(conversation: string): Promise<FrameOf<'manifest'> | FrameOf<'error'>>
  unsubscribe(conversation: string): void
  awareness(conversation: string, entries: readonly AwarenessEntry[]): void
  /** Every awareness entry received for `conversation`, in arrival order. */
  seen(conversation: string): AwarenessEntry[]
  errors(): FrameOf<'error'>[]
  close(): void
}

/** Opens a socket to `url`, authenticates with `token` as `device`, and resolves after `welcome`. */
export const rawPeer = async (url: string, token: string, device: string): Promise<RawPeer> => {
  const ws = new WebSocket(url)
  const frames: Frame[] = []
  const closed: { code?: number } = {}
  ws.binaryType = 'nodebuffer'
  ws.on('message', (data: Buffer) => frames.push(decodeFrame(new Uint8Array(data))))
  ws.on('close', (code) => {
    closed.code = code
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const send = (frame: Frame) => ws.send(encodeFrame(frame))
  send({ type: 'auth', token, device })
  await until(() => frames.some((f) => f.type === 'welcome') || closed.code !== undefined, 'welcome')
  const welcome = frames.find((f): f is FrameOf<'welcome'> => f.type === 'welcome')
  if (!welcome) throw new Error(`auth refused, close ${closed.code}`)
  return {
    user: welcome.user,
    device,
    frames,
    closed,
    send,
    async subscribe(conversation) {
      const from = frames.length
      send({ type: 'subscribe', conversation, version: 0 })
      let answer: FrameOf<'manifest'> | FrameOf<'error'> | undefined
      await until(() => {
        answer = frames
          .slice(from)
          .find(
            (f): f is FrameOf<'manifest'> | FrameOf<'error'> =>
              (f.type === 'manifest' && f.conversation === conversation) ||
              (f.type === 'error' && f.doc === conversation),
          )
        return answer !== undefined
      }, `an answer to subscribe ${conversation}`)
      return answer!
    },
    unsubscribe: (conversation) => send({ type: 'unsubscribe', conversation }),
    awareness: (conversation, entries) =>
      send({ type: 'awareness', conversation, update: encodeAwareness(entries) }),
    seen: (conversation) =>
      frames
        .filter((f): f is FrameOf<'awareness'> => f.type === 'awareness' && f.conversation === conversation)
        .flatMap((f) => decodeAwareness(f.update)),
    errors: () => frames.filter((f): f is FrameOf<'error'> => f.type === 'error'),
    close: () => ws.close(),
  }
}
