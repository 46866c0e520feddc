export { useConnection, useUnread } from './client-hooks.js'
export { useMessages, usePresence, useStatus } from './conversation-hooks.js'
export { useConversation } from './use-conversation.js'
