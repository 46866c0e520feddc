import { type Conversation, type Message, PRIORITIES, type Priority } from '@tidings/core'
import { type FormEvent, useEffect, useState } from 'react'
import { textOf } from './text.js'
import type { Attempt } from './write-problem.js'

export type Draft = { kind: 'new' } | { kind: 'reply' | 'edit'; message: Message }

/**
 * Writes a message (with a priority, maybe as a reply) or edits one of yours. The text stays until
 * the write is stored, so a refused one (too long, say) is still there to fix.
 */
export const Composer = ({
  convo,
  draft,
  attempt,
  onDone,
}: {
  convo: Conversation
  draft: Draft
  attempt: Attempt
  onDone: () => void
}) => {
  const [text, setText] = useState('')
  const [priority, setPriority] = useState<Priority>('normal')
  const [storing, setStoring] = useState(false)

  useEffect(() => {
    if (draft.kind === 'edit') setText(textOf(draft.message.body))
  }, [draft])
  useEffect(
    () => () => {
      convo.setPresence({ typing: false })
    },
    [convo],
  )

  const typed = (value: string) => {
    setText(value)
    // Core lets `typing: true` lapse after TYPING_MS; renewing it per keystroke keeps it while typing.
    convo.setPresence({ typing: value.length > 0 })
  }

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    const written = text
    const body = { text: written.trim() }
    if (!body.text || storing) return
    convo.setPresence({ typing: false })
    setStoring(true)
    // Resolves once stored in IndexedDB (a few ms); the link sends it whenever it can.
    const stored = await attempt(draft.kind === 'edit' ? 'save the edit' : 'send', () =>
      draft.kind === 'edit'
        ? convo.edit(draft.message.id, body)
        : convo.send(body, { priority, ...(draft.kind === 'reply' ? { replyTo: draft.message.id } : {}) }),
    )
    setStoring(false)
    if (!stored) return
    // Whatever was typed meanwhile is the next message: keep it.
    setText((current) => (current === written ? '' : current))
    onDone()
  }

  return (
    <form className="composer" onSubmit={(event) => void submit(event)}>
      {draft.kind !== 'new' && (
        <div className="draft">
          {draft.kind === 'reply' ? 'replying to' : 'editing'} {draft.message.author}:{' '}
          {textOf(draft.message.body)}
          <button type="button" onClick={onDone}>
            cancel
          </button>
        </div>
      )}
      <select
        aria-label="priority"
        value={priority}
        onChange={(event) => setPriority(event.target.value as Priority)}
        disabled={draft.kind === 'edit'}
      >
        {PRIORITIES.map((p) => (
          <option key={p} value={p}>
            {p}
          </option>
        ))}
      </select>
      <input
        aria-label="message"
        value={text}
        onChange={(event) => typed(event.target.value)}
        placeholder="Write a message"
      />
      <button type="submit">{draft.kind === 'edit' ? 'save' : 'send'}</button>
    </form>
  )
}
