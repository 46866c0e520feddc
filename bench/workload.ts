// No Node imports: the IndexedDB bench's page (bundled for Chromium) uses these records too.

/** The one writing device and user of every benchmark; the id matches Tidings' device pattern. */
export const DEVICE = 'benchdevice0001'
export const USER = 'alice'
/** Wall time of message 1 in the raw-engine workloads (their stamps are synthetic). */
export const BASE_WALL = 1_700_000_000_000

/** The immutable value Tidings keeps under a message id in a lane doc's `m` map. */
export interface MessageRecord {
  readonly author: string
  readonly device: string
  readonly stamp: { readonly wall: number; readonly counter: number }
  readonly body: { readonly text: string }
  readonly priority: 'normal'
}

export const messageText = (i: number): string => `message number ${i}`

export const messageKey = (i: number): string => `${DEVICE}.${i}`

export const messageRecord = (i: number, wall = BASE_WALL + i): MessageRecord => ({
  author: USER,
  device: DEVICE,
  stamp: { wall, counter: 0 },
  body: { text: messageText(i) },
  priority: 'normal',
})

export const now = (): number => performance.now()

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Runs a full collection between repetitions when node runs with --expose-gc, so reps start even. */
export const collectGarbage = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
}

export const log = (line: string): void => {
  process.stderr.write(`${line}\n`)
}
