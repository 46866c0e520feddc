import type { Conversation } from '@tidings/core'
import { useSyncExternalStore } from 'react'
import { textOf } from './text.js'

/** Pinned messages stay at the top, whatever period they were written in. */
export const PinList = ({ convo }: { convo: Conversation }) => {
  // `pins()` builds a new array per call: compare by content to keep the snapshot stable.
  const key = useSyncExternalStore(
    (fn) => convo.subscribe(fn),
    () => JSON.stringify(convo.pins()),
  )
  const pins = JSON.parse(key) as ReturnType<Conversation['pins']>
  if (pins.length === 0) return null
  return (
    <ul className="pins" aria-label="pinned">
      {pins.map((pin) => (
        <li key={pin.id}>
          pinned: <b>{pin.author}</b>: {textOf(pin.body)}
        </li>
      ))}
    </ul>
  )
}
