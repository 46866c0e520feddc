/** The demo's users and rooms; the server's token table (examples/server) gives each `demo-<user>`. */
export const USERS = ['alice', 'bob', 'carol'] as const
export type User = (typeof USERS)[number]

/** Every user opens these at login; `ops-room` is also the terminal chat's default room. */
export const ROOMS = ['ops-room', 'general', 'random'] as const

export const isUser = (value: unknown): value is User => USERS.includes(value as User)
