import { parseArgs } from 'node:util'

export interface StartConfig {
  readonly port: number
  readonly host: string
  readonly dataDir: string
}

export const USAGE = `Usage: npm start -- [options]

  --port <n>        port of the web chat and its WebSocket (default 8080; env PORT)
  --host <address>  interface to listen on (default 127.0.0.1; 0.0.0.0 for all; env HOST)
  --data <dir>      folder of the SQLite database (default ./data; env TIDINGS_DATA)
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
      help: { type: 'boolean' },
    },
    strict: true,
  })
  if (values.help) return 'help'
  const raw = values.port ?? env.PORT ?? '8080'
  const port = Number(raw)
  if (!/^\d+$/.test(raw) || port > 65535) throw new Error(`--port ${raw} is not a port`)
  return {
    port,
    host: values.host ?? env.HOST ?? '127.0.0.1',
    dataDir: values.data ?? env.TIDINGS_DATA ?? './data',
  }
}
