import type { Frame } from '@tidings/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { bindingKey } from '../../src/bindings.js'
import { authenticate, laneDoc, member, TestClient } from '../helpers.js'
import { impersonationSuite, record, type World } from '../trust-suite.js'
import { isolation, missingBackends, sharedStorage, startNode } from './kit.js'

const skip = await missingBackends('cluster attacks')

/** The sentinel writes here: the lowest lane, so every relay queued before it reaches a client first. */
const LOW = laneDoc('room', 'low')

const withSentinel: typeof authenticate = (token, conversation, context) =>
  token === 't-sentinel' ? { userId: 'sentinel', canWrite: true } : authenticate(token, conversation, context)

/**
 * Three processes on one PostgreSQL schema and one Redis prefix: alice and the reader on a, bob
 * (the observer) and the squatter on b, mallory on c. Every refusal then happens on another
 * process than the one holding the victim's writes, and what c would relay reaches bob through Redis.
 */
const cluster = async (): Promise<World> => {
  const isolated = isolation()
  const nodes = [
    await startNode(isolated, { authenticate: withSentinel }),
    await startNode(isolated, { authenticate: withSentinel }),
    await startNode(isolated, { authenticate: withSentinel }),
  ]
  const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]]
  const place: Record<string, { url: string }> = { alice: a, reader: a, bob: b, squatter: b, mallory: c }
  // Writes through mallory's process, so the fan-out delivers it after anything c relayed before.
  const sentinel = await member(c.url, 't-sentinel', 'sentinel', 'sentinel1')
  const idle = async () => {
    for (const node of nodes) await node.idle()
  }
  return {
    url: (party) => place[party]!.url,
    idle,
    storage: sharedStorage(isolated),
    drained: async (observer) => {
      await idle()
      const seen = observer.later((f) => f.type === 'update' && f.doc === LOW)
      const message = sentinel.device.message(LOW, 'drain')
      expect(await sentinel.client.update(LOW, message.update)).toBe('ack')
      await seen
    },
    isSentinel: (frame: Frame) =>
      (frame.type === 'update' && frame.doc === LOW) ||
      (frame.type === 'manifest' && frame.changes.every((change) => change.doc === LOW)),
  }
}

if (skip === undefined) impersonationSuite('impersonation across three processes', cluster)

describe.skipIf(skip !== undefined)('races between processes', () => {
  it('gives a fresh device to one user only, when two claim it through two processes at once', async () => {
    const isolated = isolation()
    const [a, b] = [await startNode(isolated), await startNode(isolated)]
    /** Resolves with the token when `auth` as `device` through `url` is welcomed. */
    const tryAs = async (url: string, token: string, device: string) => {
      const client = await TestClient.open(url)
      client.send({ type: 'auth', token, device })
      const answer = await client.next((f) => f.type === 'welcome' || f.type === 'error')
      return answer.type === 'welcome' ? token : undefined
    }
    for (let round = 0; round < 5; round++) {
      const device = `contested${round}`
      const winners = (
        await Promise.all([tryAs(a.url, 't-alice', device), tryAs(b.url, 't-mallory', device)])
      ).filter(Boolean)
      expect(winners).toHaveLength(1)
      // Both processes give the same answer afterwards.
      expect(await tryAs(a.url, winners[0]!, device)).toBe(winners[0])
      expect(await tryAs(b.url, winners[0]!, device)).toBe(winners[0])
      expect(await tryAs(b.url, 't-bob', device)).toBeUndefined()
    }
  })

  it('binds a clientID to one user when two users introduce it through two processes at once', async () => {
    const isolated = isolation()
    const [a, c] = [await startNode(isolated), await startNode(isolated)]
    const alice = await member(a.url, 't-alice', 'alice', 'alicedev1')
    const mallory = await member(c.url, 't-mallory', 'mallory', 'mallory1')
    const storage = sharedStorage(isolated)
    for (let round = 0; round < 5; round++) {
      const client = 1_000_000 + round
      // The same fresh clientID, first used at the same time in two docs of the conversation.
      const write = (who: typeof alice, doc: string, user: string, device: string) => {
        const ydoc = new Y.Doc()
        ydoc.clientID = client
        ydoc.getMap('m').set(`${device}.${100 + round}`, record(user, device))
        return who.client.update(doc, Y.encodeStateAsUpdate(ydoc))
      }
      const answers = await Promise.all([
        write(alice, laneDoc('room', 'normal'), 'alice', 'alicedev1'),
        write(mallory, laneDoc('room', 'high'), 'mallory', 'mallory1'),
      ])
      const acked = answers.map((answer) => answer === 'ack')
      expect(acked.filter(Boolean)).toHaveLength(1)
      const owner = await storage.getMeta(bindingKey('room', client))
      expect(owner).toBe(acked[0] ? 'alice' : 'mallory')
    }
  })
})
