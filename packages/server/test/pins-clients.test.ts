import { type Client, type Conversation, createClient, memoryStorage } from '@tidings/core'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startServer, storedDoc } from './helpers.js'
import { miniTransport } from './mini-transport.js'

const clients: Client[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

/** Resolves once `check` holds for the conversation. */
const until = (conversation: Conversation, check: () => boolean): Promise<void> =>
  new Promise((resolve) => {
    if (check()) return resolve()
    const stop = conversation.subscribe(() => {
      if (!check()) return
      stop()
      resolve()
    })
  })

describe('pins and deletes through the server, with core clients', () => {
  it('a delete from one device frees the pins, pin copies and edit texts of all, and the server allows it', async () => {
    const server = await startServer()
    const errors: string[] = []
    const client = (user: string) => {
      const c = createClient({
        user,
        storage: memoryStorage(),
        transport: miniTransport(server.url, `t-${user}`),
        receiptDelay: 0,
      })
      c.on('error', (error) => errors.push(`${error.code}: ${error.message}`))
      clients.push(c)
      return c
    }
    const [phone, laptop, bob] = [client('alice'), client('alice'), client('bob')]
    const [p, l, b] = await Promise.all([phone.open('room'), laptop.open('room'), bob.open('room')])
    const m = await p.send('secret v1')
    await until(b, () => b.messages().length === 1)
    await until(l, () => l.messages().length === 1)
    await b.pin(m.id)
    await until(l, () => l.pins().length === 1)
    await l.edit(m.id, 'laptop text')
    await until(p, () => p.pins()[0]?.body === 'laptop text')
    await p.delete(m.id)
    for (const c of [p, l, b])
      await until(c, () => c.pins().length === 0 && c.messages()[0]?.deleted === true)
    await Promise.all([phone.whenSynced(), laptop.whenSynced(), bob.whenSynced()])
    await server.idle()
    expect(errors).toEqual([])
    for (const info of await server.storage.listDocs('room')) {
      const text = new TextDecoder().decode(Y.encodeStateAsUpdate(await storedDoc(server.storage, info.doc)))
      expect(text, info.doc).not.toContain('secret v1')
      expect(text, info.doc).not.toContain('laptop text')
    }
  })
})
