import * as fc from 'fast-check'
import { expect, it } from 'vitest'
import { type AwarenessEntry, decodeAwareness, encodeAwareness } from '../awareness.js'
import type { ConversationId } from '../ids.js'
import type { Transport, TransportSession } from '../transport.js'
import { type ConformanceOptions, propertyParameters } from './arbitraries.js'

/** Options of the transport suite. */
export interface TransportConformanceOptions extends ConformanceOptions {
  /**
   * What the backend does with presence: `'stamped'` (default; the Tidings server, the loopback
   * hub) writes the publisher's authenticated user and device into every state and clears a link's
   * states when it leaves; `'relayed'` (a stock y-websocket server) passes states on as sent;
   * `false` skips the presence cases (a transport without `sendAwareness`).
   */
  readonly awareness?: 'stamped' | 'relayed' | false
}

/** What the presence cases need from the transport suite: links to one backend, and a flush. */
export type WithLinks = (
  fn: (links: readonly [Transport, Transport], flush: () => Promise<void>) => Promise<void>,
) => Promise<void>

const fieldsArb = fc.dictionary(
  fc.constantFrom('typing', 'cursor', 'name', 'é', ''),
  fc.oneof(fc.boolean(), fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null)),
  { maxKeys: 3 },
)

/** Registers the presence cases of `runTransportConformance`. */
export const awarenessCases = (
  withLinks: WithLinks,
  sessions: readonly [TransportSession, TransportSession],
  conversations: fc.Arbitrary<[ConversationId, ConversationId, ConversationId]>,
  options: TransportConformanceOptions,
  timeout: number,
): void => {
  const mode = options.awareness ?? 'stamped'
  if (mode === false) return
  it(
    `relays presence to the conversation's subscribers only${mode === 'stamped' ? ', stamped with the authenticated user and device, cleared when the publisher leaves' : ''}`,
    () =>
      fc.assert(
        fc.asyncProperty(
          conversations,
          fc.integer({ min: 1, max: 0xffff_ffff }),
          fieldsArb,
          ([x, y, z], client, fields) =>
            withLinks(async ([a, b], flush) => {
              expect(typeof a.sendAwareness, 'the transport has sendAwareness').toBe('function')
              const heard: { conversation: string; entries: AwarenessEntry[] }[] = []
              b.on('awareness', ({ conversation, update }) =>
                heard.push({ conversation, entries: decodeAwareness(update) }),
              )
              // a: x and y; b: x and z. y's presence must not reach b.
              for (const c of [x, y]) a.subscribe(c, async () => [])
              for (const c of [x, z]) b.subscribe(c, async () => [])
              a.connect(sessions[0])
              b.connect(sessions[1])
              await flush()
              const claim = { ...fields, user: 'mallory', device: 'forged' }
              a.sendAwareness!(y, encodeAwareness([{ client, clock: 1, state: claim }]))
              a.sendAwareness!(x, encodeAwareness([{ client, clock: 1, state: claim }]))
              await flush()
              expect(
                heard.filter((h) => h.conversation !== x),
                'nothing of a conversation b did not subscribe to',
              ).toEqual([])
              const states = heard.flatMap((h) => h.entries).filter((e) => e.client === client)
              const expected =
                mode === 'stamped' ? { ...fields, user: sessions[0].user, device: sessions[0].device } : claim
              expect(states.at(-1)?.state, 'b sees the state').toEqual(expected)
              if (mode !== 'stamped') return
              a.disconnect()
              await flush()
              const after = heard.flatMap((h) => h.entries).filter((e) => e.client === client)
              expect(after.at(-1)?.state, 'cleared when a leaves').toBeNull()
            }),
        ),
        propertyParameters({ ...options, runs: Math.max(1, Math.ceil((options.runs ?? 100) / 4)) }),
      ),
    timeout,
  )
}
