import { type Client, createClient, memoryStorage } from '@tidings/core'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startServer, storedDoc, until } from './helpers.js'
import { miniTransport } from './mini-transport.js'

const clients: Client[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

/** Core clients on a server, their errors collected, and their links to take offline. */
const world = async () => {
  const server = await startServer()
  const errors: string[] = []
  const links = new Map<Client, ReturnType<typeof miniTransport>>()
  const client = (user: string) => {
    const transport = miniTransport(server.url, `t-${user}`)
    const c = createClient({ user, storage: memoryStorage(), transport, receiptDelay: 0 })
    c.on('error', (error) => errors.push(`${error.code}: ${error.message}`))
    clients.push(c)
    links.set(c, transport)
    return c
  }
  /** Whether any stored doc of `room` still holds `text` in its state. */
  const stored = async (text: string) => {
    for (const info of await server.storage.listDocs('room')) {
      const state = Y.encodeStateAsUpdate(await storedDoc(server.storage, info.doc))
      if (new TextDecoder().decode(state).includes(text)) return true
    }
    return false
  }
  return { server, errors, links, client, stored }
}

describe('pins and deletes through the server, with core clients', () => {
  it('a delete from one device frees the pins, pin copies and edit texts of all, and the server allows it', async () => {
    const { server, errors, client, stored } = await world()
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
    expect(await stored('secret v1')).toBe(false)
    expect(await stored('laptop text')).toBe(false)
  })

  it('a pin that reaches the server after the delete is refused, and shown nowhere', async () => {
    const { server, errors, links, client, stored } = await world()
    const [alice, bob, mallory] = [client('alice'), client('bob'), client('mallory')]
    const [a, b, c] = await Promise.all([alice.open('room'), bob.open('room'), mallory.open('room')])
    const m = await a.send('secret v1')
    for (const x of [b, c]) await until(x, () => x.messages().length === 1)
    const link = links.get(bob)!
    const offline = new Promise<void>((resolve) => link.on('connection', (s) => s === 'offline' && resolve()))
    link.disconnect()
    await offline
    await b.pin(m.id)
    await a.delete(m.id)
    await alice.whenSynced()
    link.connect({ user: 'bob', device: bob.device! })
    await until(b, () => b.messages()[0]?.deleted === true)
    await until(c, () => c.messages()[0]?.deleted === true)
    await server.idle()
    for (const x of [a, b, c]) expect(x.pins()).toEqual([])
    expect(errors.some((e) => e.startsWith('permission/denied') && e.includes('does not store'))).toBe(true)
    expect(await stored('secret v1')).toBe(false)
  })
})
