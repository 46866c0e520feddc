/** How long the server computes before it lets sockets and timers run (ms). */
const SLICE_MS = 10

let sliceStart: number | undefined

/**
 * A checkpoint: resolves at once, unless the work since the first checkpoint of the current turn
 * of the event loop took more than SLICE_MS: then after the loop turned. Put one before and one
 * after each expensive step. Frame chains and commit rounds on synchronous storage only ever await
 * settled promises, which never leave the microtask queue; one client's thousands of frames
 * would otherwise hold every other client's pings until they were all handled.
 */
export const yieldIfBusy = (): Promise<void> | undefined => {
  const now = performance.now()
  if (sliceStart === undefined) {
    sliceStart = now
    // Runs at the next turn of the event loop: the slice ends there.
    setImmediate(() => {
      sliceStart = undefined
    })
    return undefined
  }
  if (now - sliceStart < SLICE_MS) return undefined
  return new Promise((resolve) => setImmediate(resolve))
}
