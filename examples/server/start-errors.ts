import { isTidingsError } from '@tidings/core'
import type { StartConfig } from './config.js'

/**
 * What a failed `npm start` prints: one sentence that says what to do, never a stack trace
 * (a newcomer on a busy 8080 or a second start on the same data folder must not read one).
 */
export const explainStartError = (error: unknown, config: StartConfig): string => {
  const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown }
  if (isTidingsError(error, 'server/address-in-use')) return `${error.message} Use --port <n> (or PORT=<n>).`
  if (code === 'EADDRINUSE')
    return `Port ${config.port} on ${config.host} is in use: stop what holds it, or pick another with --port <n> (or PORT=<n>).`
  if (code === 'EACCES' && syscall === 'listen')
    return `Port ${config.port} on ${config.host} needs privileges this user lacks: pick one above 1023 with --port <n>.`
  if (isTidingsError(error, 'storage/locked'))
    return `The data folder ${config.dataDir} is in use by another Tidings server (it holds tidings.db): stop that one, or start this one with --data <another folder>.`
  if (
    code === 'EACCES' ||
    code === 'EROFS' ||
    code === 'EPERM' ||
    isTidingsError(error, 'storage/unwritable')
  )
    return `The data folder ${config.dataDir} cannot be written: pick a writable one with --data <folder> (or TIDINGS_DATA).`
  return `The server could not start: ${(error as Error)?.message ?? String(error)}`
}
