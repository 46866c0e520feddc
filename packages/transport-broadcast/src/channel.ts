import { TidingsError } from '@tidings/core'

/** The part of `BroadcastChannel` this package uses; the browser's and Node 20's both fit. */
export interface BroadcastChannelLike {
  /** Sends a structured-clonable message to every other channel of the same name. */
  postMessage(message: unknown): void
  /** Listens for the messages of the other channels. */
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void
  /** Stops sending and receiving. */
  close(): void
}

/** A `BroadcastChannel` constructor, injectable for tests and runtimes without one. */
export type BroadcastChannelConstructor = new (name: string) => BroadcastChannelLike

/** The channel every tab of one storage shares. */
export const channelName = (name: string): string => `tidings-tabs:${name}`

/** A channel that never throws on post: a closed channel or an uncloneable value just drops. */
export interface Channel {
  post(message: object): boolean
  close(): void
}

/** Opens the tabs' channel and hands every message's data to `receive`. */
export const openChannel = (
  name: string,
  receive: (data: unknown) => void,
  Ctor: BroadcastChannelConstructor | undefined,
): Channel => {
  const Constructor =
    Ctor ?? (globalThis as { BroadcastChannel?: BroadcastChannelConstructor }).BroadcastChannel
  if (!Constructor) {
    throw new TidingsError(
      'input/invalid',
      'There is no BroadcastChannel here: pass the BroadcastChannel option (Node 20 has one built in).',
    )
  }
  const channel = new Constructor(channelName(name))
  let closed = false
  channel.addEventListener('message', (event) => {
    if (!closed) receive(event.data)
  })
  return {
    post(message) {
      if (closed) return false
      try {
        channel.postMessage(message)
        return true
      } catch {
        // A DataCloneError names a value the app passed; the call that sent it reports that itself.
        return false
      }
    },
    close() {
      if (closed) return
      closed = true
      channel.close()
    },
  }
}
