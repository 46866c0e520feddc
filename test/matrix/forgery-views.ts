import type { Client, Conversation } from '@tidings/core'

/**
 * What honest devices show of a conversation through the public API, and how two such pictures
 * differ: a forgery is "shown" when anything in it changed because of the forger.
 */

/** Everything the public API shows of conversation `c` on the device of `client`. */
export const viewOf = (client: Client, c: Conversation) => ({
  messages: c.messages().map((m) => ({
    id: m.id as string,
    author: m.author,
    device: m.device as string,
    body: m.body,
    priority: m.priority,
    sentAt: m.sentAt,
    replyTo: m.replyTo as string | undefined,
    editedAt: m.editedAt,
    deleted: m.deleted,
    status: m.status,
    readBy: c.readBy(m.id),
  })),
  pins: c.pins(),
  unreadIds: c.unreadIds() as string[],
  unread: client.conversations().find((x) => x.id === c.id)?.unread,
  retainedFrom: c.retainedFrom,
})

export type View = ReturnType<typeof viewOf>
export type MessageView = View['messages'][number]

/** Views of several devices, each with the name a difference reports. */
export type Views = readonly { readonly name: string; readonly view: View }[]

/** The views of `devices`, in order. */
export const viewsOf = async (
  devices: readonly { readonly name: string; readonly client: Client }[],
  conversation: string,
): Promise<Views> => {
  const views = []
  for (const d of devices)
    views.push({ name: d.name, view: viewOf(d.client, await d.client.open(conversation)) })
  return views
}

/** Where `actual` shows something `expected` does not: one line per message field or list. */
export const differences = (expected: Views, actual: Views): string[] => {
  const found: string[] = []
  const line = (name: string, what: string, a: unknown, b: unknown) => {
    const [x, y] = [JSON.stringify(a), JSON.stringify(b)]
    if (x !== y) found.push(`${name} ${what}: ${x} → ${y}`)
  }
  expected.forEach(({ name, view }, i) => {
    const other = actual[i]!.view
    line(
      name,
      'order',
      view.messages.map((m) => m.id),
      other.messages.map((m) => m.id),
    )
    for (const m of view.messages) {
      const o = other.messages.find((x) => x.id === m.id)
      if (!o) continue
      for (const field of Object.keys(m) as (keyof MessageView)[])
        line(name, `${m.id} ${field}`, m[field], o[field])
    }
    for (const o of other.messages)
      if (!view.messages.some((m) => m.id === o.id)) line(name, o.id, undefined, o)
    for (const field of ['pins', 'unreadIds', 'unread', 'retainedFrom'] as const)
      line(name, field, view[field], other[field])
  })
  return found
}
