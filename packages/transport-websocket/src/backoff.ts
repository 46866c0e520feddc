/** Reconnect delays: exponential growth from `base`, never past `cap`, in ms. */
export interface BackoffOptions {
  readonly base: number
  readonly cap: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { base: 250, cap: 30_000 }

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry after a loss), with full
 * jitter: uniform on [0, min(cap, base · 2^attempt)), so devices that lost the same server do not
 * come back in lockstep.
 */
export const backoffDelay = (attempt: number, options: BackoffOptions, random: () => number): number =>
  random() * Math.min(options.cap, options.base * 2 ** attempt)
