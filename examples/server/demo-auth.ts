import type { Authenticate } from '@tidings/server'

/** The demo's token table: each demo user signs in with `demo-<user>`. Any other token is refused. */
export const DEMO_TOKENS: Readonly<Record<string, string>> = {
  'demo-alice': 'alice',
  'demo-bob': 'bob',
  'demo-carol': 'carol',
}

/** Demo auth: every demo user may read and write every conversation. Pass your own in production. */
export const demoAuthenticate: Authenticate = (token) => {
  const user = Object.hasOwn(DEMO_TOKENS, token) ? DEMO_TOKENS[token] : undefined
  return user ? { userId: user, canWrite: true } : null
}
