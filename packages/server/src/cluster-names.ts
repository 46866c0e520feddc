/** Storage lock name of a conversation's manifest (doc names never start with a colon). */
export const manifestLock = (conversation: string): string => `:manifest:${conversation}`
