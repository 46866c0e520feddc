import { isTidingsError } from '@tidings/core'

/**
 * Runs a write the user asked for (send, edit, pin, delete, mark as read) and resolves whether it
 * was stored; a refusal is shown on the page, never left as an unhandled rejection.
 */
export type Attempt = (what: string, write: () => Promise<unknown>) => Promise<boolean>

/** Why a write was refused, in words for the page: "Could not send: too long. …". */
export const explainWrite = (what: string, error: unknown): string => {
  if (!isTidingsError(error)) return `Could not ${what}: ${String(error)}`
  if (error.code === 'input/too-large') return `Could not ${what}: too long. ${error.message}`
  return `Could not ${what}: ${error.message} (${error.code})`
}

/** An `Attempt` that hands the reason of a refused write to `show`. */
export const attemptWith =
  (show: (reason: string) => void): Attempt =>
  (what, write) =>
    // Through `then`, so a write that throws before returning its promise is caught too.
    Promise.resolve()
      .then(write)
      .then(
        () => true,
        (error: unknown) => {
          show(explainWrite(what, error))
          return false
        },
      )
