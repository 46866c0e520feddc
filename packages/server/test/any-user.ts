import type { Authenticate } from '../src/index.js'

/** `t-<user>` is user <user>, who may write: as many distinct users as an attack needs. */
export const anyUser: Authenticate = (token) =>
  token.startsWith('t-') ? { userId: token.slice(2), canWrite: true } : null
