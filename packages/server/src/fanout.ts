import type { Fanout } from '@tidings/protocol'

export type { Fanout, FanoutSink } from '@tidings/protocol'

/** One process alone: nobody to tell. */
export const localFanout = (): Fanout => ({
  shared: false,
  start: async () => undefined,
  subscribe: async () => undefined,
  unsubscribe: () => undefined,
  publish: () => undefined,
  close: async () => undefined,
})
