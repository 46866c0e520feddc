import { type Conversation, createClient, loopbackHub, memoryStorage } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import { until } from '../shared/until.js'
import { line, screen } from './screen.js'

const texts = (convo: Conversation) => screen(convo.messages(), 50).map((l) => l.replace(/^\S+ /, ''))

describe('the terminal chat screen', () => {
  it('shows each message once, in conversation order, its status updated in place', async () => {
    const hub = loopbackHub()
    const alice = createClient({ user: 'alice', storage: memoryStorage(), transport: hub.transport() })
    const bob = createClient({ user: 'bob', storage: memoryStorage(), transport: hub.transport() })
    try {
      const a = await alice.open('room')
      const b = await bob.open('room')
      await a.send({ text: 'first' })
      await b.send({ text: 'second' }, { priority: 'urgent' })
      await until(a, () => a.messages().length === 2)
      await until(b, () => b.messages().length === 2 && b.messages()[1]!.status === 'delivered')
      const before = texts(b)
      expect(before).toHaveLength(2)
      expect(before[0]).toContain('  alice: first  [')
      expect(before[1]).toMatch(/! bob: second {2}\[delivered\]/)
      await a.markRead(a.messages().at(-1)!.id)
      await until(b, () => b.status(b.messages().at(-1)!.id) === 'read')
      const after = texts(b)
      expect(after).toHaveLength(2)
      expect(after[1]).toContain('! bob: second  [read]')
      await b.edit(b.messages()[1]!.id, { text: 'second, corrected' })
      expect(texts(b)[1]).toContain('second, corrected (edited)')
    } finally {
      await alice.close()
      await bob.close()
    }
  })

  it('shows a message kept only on this device as cached, and keeps the last rows', async () => {
    const client = createClient({ user: 'carol', storage: memoryStorage() })
    try {
      const room = await client.open('room')
      for (let i = 0; i < 5; i++) await room.send({ text: `m${i}` })
      expect(line(room.messages()[0]!)).toMatch(/carol: m0 {2}\[cached\]$/)
      const last = screen(room.messages(), 2)
      expect(last).toHaveLength(2)
      expect(last[0]).toMatch(/carol: m3 {2}\[cached\]$/)
      expect(last[1]).toMatch(/carol: m4 {2}\[cached\]$/)
    } finally {
      await client.close()
    }
  })
})
