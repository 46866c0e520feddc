import type { Conversation } from '@tidings/core'

type WithSetPresence = Conversation & { setPresence?: (state: { typing: boolean }) => void }

/** Tells the others in the conversation whether this device is typing (once core has presence). */
export const setTyping = (convo: Conversation, typing: boolean): void =>
  (convo as WithSetPresence).setPresence?.({ typing })
