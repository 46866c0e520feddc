/** Where a fan-out delivers what other processes published. */
export interface FanoutSink {
  /** A payload another process published for a conversation this process subscribed to. */
  message(conversation: string, payload: Uint8Array): void
  /**
   * Payloads may have been lost (the broker restarted, the link dropped): the server catches up
   * every doc it holds from storage. Called after the subscriptions are active again, so nothing
   * committed after the catch-up reads storage can be missed.
   */
  missed(): void
  /** Something the operator should know that is no error, e.g. the broker is unreachable at start. */
  warn?(message: string): void
}

/**
 * How the processes of a cluster tell each other about commits: a channel per conversation.
 * Storage stays the truth: a fan-out only makes others learn quickly, and a process that may have
 * missed something catches up from storage. The default, `localFanout()`, is one process alone.
 */
export interface Fanout {
  /**
   * True when other processes write the same storage: the server then catches a doc up from
   * storage before it checks an update against it or answers a sync, and now and then anyway.
   */
  readonly shared: boolean
  /** Connects; `sink` gets what other processes publish. */
  start(sink: FanoutSink): Promise<void>
  /** Listens to a conversation; resolves once the subscription is active. */
  subscribe(conversation: string): Promise<void>
  unsubscribe(conversation: string): void
  /** Tells the other processes; never back to this one. Fire and forget: storage has it already. */
  publish(conversation: string, payload: Uint8Array): void
  close(): Promise<void>
}
