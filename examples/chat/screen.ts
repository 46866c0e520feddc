import type { Message } from '@tidings/core'

/** How a status reads in the terminal: `pending` is what users know as "cached". */
const STATUS: Record<Message['status'], string> = {
  pending: 'cached',
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  expired: 'expired',
}

const text = (m: Message): string => {
  if (m.deleted) return '(deleted)'
  const body = m.body
  const shown =
    typeof body === 'object' && body !== null && 'text' in body && typeof body.text === 'string'
      ? body.text
      : JSON.stringify(body)
  return m.editedAt === undefined ? shown : `${shown} (edited)`
}

/** One message as a line: time, `!` for urgent, author, text, status. */
export const line = (m: Message): string =>
  `${new Date(m.sentAt).toISOString().slice(11, 19)} ${m.priority === 'urgent' ? '!' : ' '} ${m.author}: ${text(m)}  [${STATUS[m.status]}]`

/**
 * The screen for a conversation: its last `rows` messages in conversation order, each once, so a
 * redraw updates a status in place and a late message with an old stamp takes its place in the
 * order instead of landing at the bottom.
 */
export const screen = (messages: readonly Message[], rows: number): string[] =>
  messages.slice(Math.max(0, messages.length - rows)).map(line)

/** Clears the terminal and moves the cursor home (ANSI), for a full redraw. */
export const CLEAR = '\x1b[2J\x1b[H'
