import { type Conversation, type Message, PRIORITIES, type Priority } from '@tidings/core'
import { type FormEvent, useEffect, useState } from 'react'
import { textOf } from './text.js'

export type Draft = { kind: 'new' } | { kind: 'reply' | 'edit'; message: Message }

/** Writes a message (with a priority, maybe as a reply) or edits one of yours. */
export const Composer = ({
  convo,
  draft,
  onDone,
}: {
  convo: Conversation
  draft: Draft
  onDone: () => void
}) => {
  const [text, setText] = useState('')
  const [priority, setPriority] = useState<Priority>('normal')

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

  const submit = (event: FormEvent) => {
    event.preventDefault()
    const body = { text: text.trim() }
    if (!body.text) return
    convo.setPresence({ typing: false })
    setText('')
    onDone()
    // Resolves once stored in IndexedDB; the link sends it whenever it can.
    if (draft.kind === 'edit') void convo.edit(draft.message.id, body)
    else void convo.send(body, { priority, ...(draft.kind === 'reply' ? { replyTo: draft.message.id } : {}) })
  }

  return (
    <form className="composer" onSubmit={submit}>
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
