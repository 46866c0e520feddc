import { type LevelWithSilent, type Logger, pino } from 'pino'

export type { Logger } from 'pino'
/** A pino level name, or `silent`. */
export type LogLevel = LevelWithSilent

/** Every level, most severe first. */
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** Whether `value` names a log level (for the CLI's `--log-level` and `LOG_LEVEL`). */
export const isLogLevel = (value: string): value is LogLevel =>
  (LOG_LEVELS as readonly string[]).includes(value)

/**
 * The server's logger: the app's own, or a pino logger on stdout at `level`. Without either it is
 * silent, so a server embedded in an app or a test prints nothing it was not asked for.
 */
export const serverLogger = (logger: Logger | undefined, level: LogLevel | undefined): Logger => {
  if (logger) return level ? logger.child({}, { level }) : logger
  return pino({ name: 'tidings-server', level: level ?? 'silent' })
}
