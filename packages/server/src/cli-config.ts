import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { Authenticate, AuthResult } from './hub.js'
import { isLogLevel, LOG_LEVELS, type LogLevel } from './logs.js'

/**
 * One token's grant: its user, whether it may write, and optionally what it may open. A grant
 * with neither list opens everything; a grant with either list opens only what its lists name, so
 * a token limited to some conversations gets no plain `/y/` doc unless `docs` names it.
 */
export interface TokenGrant {
  readonly userId: string
  readonly canWrite: boolean
  /** May change retention and settings (`AuthResult.canAdmin`); false unless granted. */
  readonly canAdmin?: boolean
  /** Conversation ids this token may open. */
  readonly conversations?: readonly string[]
  /** Plain `/y/` doc names (not Tidings docs) this token may open. */
  readonly docs?: readonly string[]
}

export interface CliConfig {
  readonly port: number
  readonly host: string
  readonly dataDir: string
  readonly retentionDays?: number
  /** `--log-level` or `LOG_LEVEL` (default info). */
  readonly logLevel: LogLevel
  readonly tokens: ReadonlyMap<string, TokenGrant>
  /** `--postgres URL`: PostgreSQL storage shared with other processes, in place of SQLite. */
  readonly postgres?: string
  /** `--redis URL`: fan-out to the other processes over Redis (needs `--postgres`). */
  readonly redis?: string
}

export const USAGE = `Usage: tidings-server [options]

  --port <n>            port to listen on (default 8080; 0 picks a free one; env PORT)
  --host <address>      interface to listen on (default 127.0.0.1; 0.0.0.0 for all)
  --data <dir>          folder of the SQLite database (default ./data)
  --postgres <url>      store in PostgreSQL instead (postgres://user@host:5432/db; env
                        TIDINGS_POSTGRES_URL): several processes can then share it
  --redis <url>         tell the other processes of a cluster about commits over Redis
                        (redis://host:6379; env TIDINGS_REDIS_URL); needs --postgres
  --tokens <file>       JSON file of tokens: { "<token>": "<user>" | { "user", "canWrite"?, "canAdmin"?, "conversations"?, "docs"? } }
  --retention-days <n>  drop messages older than n days in every conversation
  --log-level <level>   fatal, error, warn, info, debug, trace or silent (default info; env LOG_LEVEL)
  --help                show this

Environment: TIDINGS_TOKENS="<token>=<user>[:ro|:admin],…" adds tokens (":ro" makes one
read-only, ":admin" lets one change retention and settings).
`

/** Reads `TIDINGS_TOKENS`: comma-separated `token=user`, with `:ro` for read-only, `:admin` for an admin. */
export const parseTokenList = (list: string): Map<string, TokenGrant> => {
  const tokens = new Map<string, TokenGrant>()
  for (const entry of list.split(',')) {
    const trimmed = entry.trim()
    if (!trimmed) continue
    const eq = trimmed.indexOf('=')
    if (eq <= 0) throw new Error(`TIDINGS_TOKENS: "${trimmed}" is not token=user`)
    const token = trimmed.slice(0, eq)
    let user = trimmed.slice(eq + 1)
    const readOnly = user.endsWith(':ro')
    if (readOnly) user = user.slice(0, -3)
    const admin = !readOnly && user.endsWith(':admin')
    if (admin) user = user.slice(0, -6)
    if (!user) throw new Error(`TIDINGS_TOKENS: token "${token}" has no user`)
    tokens.set(token, { userId: user, canWrite: !readOnly, ...(admin ? { canAdmin: true } : {}) })
  }
  return tokens
}

/** Reads a token file: `{ "<token>": "<user>" | { "user", "canWrite"?, "canAdmin"?, "conversations"?, "docs"? } }`. */
export const parseTokenFile = (json: string): Map<string, TokenGrant> => {
  const tokens = new Map<string, TokenGrant>()
  const value = JSON.parse(json) as Record<string, unknown>
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('a token file holds one JSON object of token → user')
  }
  for (const [token, grant] of Object.entries(value)) {
    if (typeof grant === 'string') {
      tokens.set(token, { userId: grant, canWrite: true })
      continue
    }
    const g = grant as {
      user?: unknown
      canWrite?: unknown
      canAdmin?: unknown
      conversations?: unknown
      docs?: unknown
    }
    if (typeof g?.user !== 'string' || g.user === '') throw new Error(`token "${token}" has no user`)
    const list = (field: 'conversations' | 'docs'): string[] | undefined => {
      const value = g[field]
      if (value === undefined) return undefined
      // A typo'd list must not turn into "everything".
      if (!Array.isArray(value)) throw new Error(`token "${token}": "${field}" is not a list`)
      return value.map(String)
    }
    const conversations = list('conversations')
    const docs = list('docs')
    tokens.set(token, {
      userId: g.user,
      canWrite: g.canWrite !== false,
      ...(g.canAdmin === true ? { canAdmin: true } : {}),
      ...(conversations ? { conversations } : {}),
      ...(docs ? { docs } : {}),
    })
  }
  return tokens
}

/** Parses the command line and environment. */
export const parseCli = (
  argv: readonly string[],
  env: Record<string, string | undefined>,
): CliConfig | 'help' => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      tokens: { type: 'string' },
      'retention-days': { type: 'string' },
      'log-level': { type: 'string' },
      postgres: { type: 'string' },
      redis: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  })
  if (values.help) return 'help'
  const port = Number(values.port ?? env.PORT ?? 8080)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port ${values.port} is not a port`)
  const tokens = new Map<string, TokenGrant>()
  if (values.tokens)
    for (const [t, g] of parseTokenFile(readFileSync(values.tokens, 'utf8'))) tokens.set(t, g)
  if (env.TIDINGS_TOKENS) for (const [t, g] of parseTokenList(env.TIDINGS_TOKENS)) tokens.set(t, g)
  if (tokens.size === 0) throw new Error('no tokens: pass --tokens <file> or set TIDINGS_TOKENS')
  const days = values['retention-days'] === undefined ? undefined : Number(values['retention-days'])
  if (days !== undefined && !(days > 0)) throw new Error('--retention-days needs a positive number')
  const logLevel = values['log-level'] ?? env.LOG_LEVEL ?? 'info'
  if (!isLogLevel(logLevel)) throw new Error(`--log-level ${logLevel} is not one of ${LOG_LEVELS.join(', ')}`)
  const postgres = values.postgres ?? env.TIDINGS_POSTGRES_URL
  const redis = values.redis ?? env.TIDINGS_REDIS_URL
  if (postgres !== undefined && !/^postgres(ql)?:\/\//.test(postgres))
    throw new Error(`--postgres ${postgres} is not a postgres:// URL`)
  if (redis !== undefined && !/^rediss?:\/\//.test(redis))
    throw new Error(`--redis ${redis} is not a redis:// URL`)
  // Processes that fan out to each other but keep separate SQLite files would each miss the others' data.
  if (redis !== undefined && postgres === undefined)
    throw new Error('--redis needs --postgres: the processes of a cluster share one storage')
  return {
    port,
    logLevel,
    ...(postgres !== undefined ? { postgres } : {}),
    ...(redis !== undefined ? { redis } : {}),
    host: values.host ?? '127.0.0.1',
    dataDir: values.data ?? './data',
    tokens,
    ...(days !== undefined ? { retentionDays: days } : {}),
  }
}

/**
 * An `authenticate` over a fixed token table: a plain `/y/` doc is checked against `docs`, a
 * conversation against `conversations`, and a limited grant opens nothing its lists do not name.
 */
export const tokenAuthenticate =
  (tokens: ReadonlyMap<string, TokenGrant>): Authenticate =>
  (token, conversation, context): AuthResult | null => {
    const grant = tokens.get(token)
    if (!grant) return null
    const limited = grant.conversations !== undefined || grant.docs !== undefined
    if (conversation !== null && limited) {
      const allowed = context.plainDoc ? grant.docs : grant.conversations
      if (!allowed?.includes(conversation)) return null
    }
    return { userId: grant.userId, canWrite: grant.canWrite, canAdmin: grant.canAdmin === true }
  }
