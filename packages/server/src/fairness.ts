/** How long the server computes before it lets sockets and timers run (ms). */
const SLICE_MS = 10

let sliceStart: number | undefined
/** Work that gave way, oldest first: each turn of the event loop resumes one of them. */
const waiting: (() => void)[] = []
let resuming = false

const resumeNext = (): void => {
  resuming = false
  sliceStart = undefined
  waiting.shift()?.()
  if (waiting.length > 0) scheduleResume()
}

const scheduleResume = (): void => {
  if (resuming) return
  resuming = true
  setImmediate(resumeNext)
}

/**
 * A checkpoint: resolves at once, unless the work since the first checkpoint of the current turn
 * of the event loop took more than SLICE_MS: then in a later turn, in first-come order, one
 * waiter a turn. Frame chains and commit rounds on synchronous storage only ever await settled
 * promises, which never leave the microtask queue; without this, one client's thousands of frames
 * would hold every other client's pings until they were all handled. Put one before and one after
 * each expensive step.
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
  // FIFO: whoever used the slice queues behind everyone who was already waiting.
  return new Promise((resolve) => {
    waiting.push(resolve)
    scheduleResume()
  })
}
