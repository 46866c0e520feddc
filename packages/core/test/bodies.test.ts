import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createClient, loopbackHub, memoryStorage } from '../src/index.js'
import { validateBody } from '../src/message.js'
import { device, manualTime } from './helpers.js'

describe('bodies with lone surrogates', () => {
  it('are normalised to U+FFFD at send and edit, the same on the sender, after a restart and elsewhere', async () => {
    const hub = loopbackHub({ manual: true })
    const time = manualTime()
    const storage = memoryStorage()
    const alice = device(hub, 'alice', time, { storage })
    const bob = device(hub, 'bob', time)
    const a = await alice.client.open('room')
    const b = await bob.client.open('room')
    // A lone high surrogate, a lone low one, one in a key, and a proper pair that must stay.
    const sent = await a.send({ text: 'broken \ud800 pair', 'k\udc00': ['\udbff', '\ud83d\ude00'] })
    const expected = { text: 'broken \ufffd pair', 'k\ufffd': ['\ufffd', '\ud83d\ude00'] }
    expect(sent.body).toEqual(expected)
    const plain = await a.send('tail \udc00')
    await a.edit(plain.id, 'edited \ud800')
    await hub.flush()

    const bodies = [expected, 'edited \ufffd']
    expect(a.messages().map((m) => m.body)).toEqual(bodies)
    expect(b.messages().map((m) => m.body)).toEqual(bodies)
    await alice.client.close()
    const again = createClient({ user: 'alice', storage: storage.reopen(), clock: { now: time.now } })
    const a2 = await again.open('room')
    expect(a2.messages().map((m) => m.body)).toEqual(bodies)
    await Promise.all([again.close(), bob.client.close()])
  })

  it('count against maxBodyBytes as normalised', async () => {
    // '\ud800' is escaped as 6 bytes of JSON, U+FFFD takes 3 as UTF-8: the stored size counts.
    const client = createClient({ user: 'solo', maxBodyBytes: 2 + 3 * 10 })
    const c = await client.open('notes')
    const m = await c.send('\ud800'.repeat(10))
    expect(m.body).toBe('\ufffd'.repeat(10))
    await client.close()
  })
})

describe('flat bodies', () => {
  it('are copied as the JSON round trip would give them, -0, surrogates and sizes included', () => {
    const flat = fc.dictionary(
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.constant(-0),
      ),
      { maxKeys: 6 },
    )
    fc.assert(
      fc.property(flat, fc.integer({ min: 2, max: 400 }), (body, limit) => {
        const general = (() => {
          try {
            return validateBody({ ...body, nested: [] }, limit + 12)
          } catch (error) {
            return (error as { code: string }).code
          }
        })()
        const fast = (() => {
          try {
            return { ...(validateBody(body, limit) as object), nested: [] }
          } catch (error) {
            return (error as { code: string }).code
          }
        })()
        // `nested: []` sends the first call down the general path; it adds 12 bytes of JSON.
        expect(fast).toEqual(general)
      }),
      { seed: 12, numRuns: 2000 },
    )
  })
})
