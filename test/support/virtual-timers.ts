import type { Timers } from '@tidings/core'

/** Timers on a virtual clock that moves only when the test calls `advance`, firing what fell due in order. */
export const virtualTimers = () => {
  let now = 0
  let next = 0
  const due = new Map<number, { at: number; fn: () => void }>()
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      due.set(++next, { at: now + ms, fn })
      return next
    },
    clearTimeout: (handle) => void due.delete(handle as number),
  }
  return {
    timers,
    /** Moves the clock by `ms`, running every timer due by then (those they set included). */
    advance(ms: number) {
      const until = now + ms
      for (;;) {
        const [id, first] = [...due].sort(([a, x], [b, y]) => x.at - y.at || a - b)[0] ?? []
        if (id === undefined || first!.at > until) break
        due.delete(id)
        now = first!.at
        first!.fn()
      }
      now = until
    },
  }
}
