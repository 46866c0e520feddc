import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { parseTokenFile, tokenAuthenticate } from '../src/cli-config.js'
import type { AuthContext, Authenticate } from '../src/index.js'
import { startServer, storedDoc } from './helpers.js'
import { RawY } from './y-raw.js'

/** Writes `text` into a plain doc over /y/ as `token` and waits until the server handled it. */
const writeAs = async (url: string, token: string, text: string): Promise<RawY> => {
  const client = await RawY.open(url, 'hr-salaries', { token })
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  client.sendUpdate(Y.encodeStateAsUpdate(doc))
  await client.barrier()
  return client
}

describe('plain /y/ docs are authorized by their own name', () => {
  it('keeps a token limited to conversations out of another team’s doc (CLI token table)', async () => {
    const tokens = parseTokenFile(
      JSON.stringify({
        'hr-token': { user: 'hana', conversations: ['hr-room'], docs: ['hr-salaries'] },
        'ops-token': { user: 'bob', conversations: ['ops-room'] },
      }),
    )
    const server = await startServer({ authenticate: tokenAuthenticate(tokens) })
    await writeAs(server.url, 'hr-token', 'alice: 100')
    await server.idle()

    // Bob's token names only ops-room: no reading, no writing.
    const bob = await RawY.open(server.url, 'hr-salaries', { token: 'ops-token' })
    const doc = new Y.Doc()
    doc.getText('t').insert(0, 'bob: 1000000')
    bob.sendUpdate(Y.encodeStateAsUpdate(doc))
    expect(await bob.closed).toMatchObject({ code: 4401 })
    expect(bob.step2s).toEqual([])
    await server.idle()
    expect((await storedDoc(server.storage, 'hr-salaries')).getText('t').toString()).toBe('alice: 100')
  })

  it('asks `authenticate` with the doc’s name and `plainDoc`, so a membership check refuses it', async () => {
    const asked: [string | null, AuthContext][] = []
    const members = new Map([['bob', ['ops-room']]])
    // The shape of the README's example: a user and the conversations they belong to.
    const authenticate: Authenticate = (token, conversation, context) => {
      asked.push([conversation, context])
      const user = token === 't-bob' ? 'bob' : undefined
      if (!user) return null
      if (conversation !== null && !members.get(user)?.includes(conversation)) return null
      return { userId: user, canWrite: true }
    }
    const server = await startServer({ authenticate })
    const bob = await RawY.open(server.url, 'hr-salaries', { token: 't-bob' })
    expect(await bob.closed).toMatchObject({ code: 4401 })
    expect(asked).toEqual([['hr-salaries', { doc: 'hr-salaries', plainDoc: true }]])
  })

  it('lets a token without lists, or one that lists the doc, open it', () => {
    const auth = tokenAuthenticate(
      parseTokenFile(JSON.stringify({ all: 'alice', docs: { user: 'dora', docs: ['notes'] } })),
    )
    const plain = { doc: 'notes', plainDoc: true }
    expect(auth('all', 'notes', plain)).toEqual({ userId: 'alice', canWrite: true, canAdmin: false })
    expect(auth('docs', 'notes', plain)).toEqual({ userId: 'dora', canWrite: true, canAdmin: false })
    // A doc list is not a conversation list, and the other way round.
    expect(auth('docs', 'notes', {})).toBeNull()
    // A list that is not one must not read as "no limit".
    expect(() => parseTokenFile(JSON.stringify({ bad: { user: 'x', docs: 'notes' } }))).toThrow('not a list')
  })
})
