import { parseArgs } from 'node:util'
import { isLogLevel, LOG_LEVELS, type LogLevel } from '@tidings/server'

export interface StartConfig {
  readonly port: number
  readonly host: string
  readonly dataDir: string
  /** The server's JSON logs on stdout; none when absent (tests). */
  readonly logLevel?: LogLevel
}

export const USAGE = `Usage: npm start -- [options]

  --port <n>        port of the web chat and its WebSocket (default 8080; env PORT)
  --host <address>  interface to listen on (default 127.0.0.1; 0.0.0.0 for all; env HOST)
  --data <dir>      folder of the SQLite database (default ./data; env TIDINGS_DATA)
  --log-level <l>   fatal, error, warn, info, debug, trace or silent (default info; env LOG_LEVEL)
  --help            show this
`

/** Reads the flags, then the environment, then the defaults. */
export const parseStartArgs = (
  argv: readonly string[],
  env: Record<string, string | undefined>,
): StartConfig | 'help' => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  })
  if (values.help) return 'help'
  const raw = values.port ?? env.PORT ?? '8080'
  const port = Number(raw)
  if (!/^\d+$/.test(raw) || port > 65535) throw new Error(`--port ${raw} is not a port`)
  const logLevel = values['log-level'] ?? env.LOG_LEVEL ?? 'info'
  if (!isLogLevel(logLevel)) throw new Error(`--log-level ${logLevel} is not one of ${LOG_LEVELS.join(', ')}`)
  return {
    port,
    logLevel,
    host: values.host ?? env.HOST ?? '127.0.0.1',
    dataDir: values.data ?? env.TIDINGS_DATA ?? './data',
  }
}
