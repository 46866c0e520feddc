// Small helpers the kit-user tests share: the way an app would reach a conversation, and a
// real-time guard so that a hang shows up as a failed test instead of a stuck run.
import type { SimulatedDevice } from '@tidings/testing'

export const say = async (device: SimulatedDevice, text: string, room = 'room') =>
  (await device.client.open(room)).send({ text })

export const texts = async (device: SimulatedDevice, room = 'room') =>
  (await device.client.open(room)).messages().map((m) => (m.body as { text?: string } | null)?.text)

/** Rejects when `promise` has not settled within `ms` of real time (the kit runs in virtual time). */
export const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still unsettled after ${ms} ms of real time`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** The error a call throws (its message), or undefined when it does not throw. */
export const thrown = async (call: () => unknown): Promise<Error | undefined> => {
  try {
    await call()
    return undefined
  } catch (error) {
    return error as Error
  }
}
