import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { isEmptyUpdate } from '../src/index.js'
import { extendStateVector, mergeUpdatesTree, readKeySets } from '../src/updates.js'

/** Replays a failing run: FC_SEED=<seed> FC_PATH=<path> npx vitest run <this file>. */
const replay = {
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
  ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
}

/** A doc with a fixed client id (so runs replay) that records each transaction's update. */
const recordingDoc = (clientID = 1) => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  return { doc, updates, last: () => updates[updates.length - 1]! }
}

const record = (seq: number) => ({
  author: 'ann',
  device: 'abcd',
  stamp: { wall: 1000 + seq, counter: 0 },
  body: { text: `message ${seq}`, list: [1, 'two', null] },
  priority: 'normal',
})

describe('isEmptyUpdate', () => {
  it('is true for an empty doc and for a diff with nothing new', () => {
    expect(isEmptyUpdate(Y.encodeStateAsUpdate(new Y.Doc()))).toBe(true)
    const { doc } = recordingDoc()
    doc.getMap('m').set('abcd.1', record(1))
    doc.getArray('a').push([1, 2, 3])
    const vector = Y.encodeStateVector(doc)
    expect(isEmptyUpdate(Y.encodeStateAsUpdate(doc, vector))).toBe(true)
    expect(isEmptyUpdate(Y.encodeStateAsUpdate(doc))).toBe(false)
    // A peer that has everything needs nothing.
    const peer = new Y.Doc()
    Y.applyUpdate(peer, Y.encodeStateAsUpdate(doc))
    expect(isEmptyUpdate(Y.encodeStateAsUpdate(doc, Y.encodeStateVector(peer)))).toBe(true)
    expect(isEmptyUpdate(Y.encodeStateAsUpdate(peer, vector))).toBe(true)
  })

  it('is false for an update with something new, and for other bytes', () => {
    const { doc } = recordingDoc()
    const before = Y.encodeStateVector(doc)
    doc.getMap('m').set('k', 1)
    expect(isEmptyUpdate(Y.encodeStateAsUpdate(doc, before))).toBe(false)
    expect(isEmptyUpdate(new Uint8Array([]))).toBe(false)
    expect(isEmptyUpdate(new Uint8Array([0]))).toBe(false)
    expect(isEmptyUpdate(new Uint8Array([0, 0, 0]))).toBe(false)
    expect(isEmptyUpdate(new Uint8Array([0, 1]))).toBe(false)
    expect(isEmptyUpdate(new Uint8Array([1, 0]))).toBe(false)
  })

  it('is false for a diff that carries only deletions, as documented', () => {
    const { doc } = recordingDoc()
    const m = doc.getMap('m')
    m.set('k', 1)
    m.delete('k')
    // The delete set always travels, so this diff is not empty.
    expect(isEmptyUpdate(Y.encodeStateAsUpdate(doc, Y.encodeStateVector(doc)))).toBe(false)
  })
})

describe('readKeySets', () => {
  it('finds the message ids and values of new keys on a root map', () => {
    const { doc, last } = recordingDoc()
    const m = doc.getMap('m')
    doc.transact(() => {
      m.set('abcd.1', record(1))
      m.set('abcd.2', record(2))
    })
    expect(readKeySets(last())).toEqual([
      { map: 'm', key: 'abcd.1', value: record(1) },
      { map: 'm', key: 'abcd.2', value: record(2) },
    ])
    m.set('abcd.3', record(3))
    expect(readKeySets(last())).toEqual([{ map: 'm', key: 'abcd.3', value: record(3) }])
    // The whole state lists every key.
    expect(readKeySets(Y.encodeStateAsUpdate(doc)).map((s) => s.key)).toEqual(['abcd.1', 'abcd.2', 'abcd.3'])
  })

  it('names the root map of each key', () => {
    const { doc, last } = recordingDoc()
    doc.transact(() => {
      doc.getMap('m').set('abcd.1', 'x')
      doc.getMap('pins').set('abcd.1', { by: 'ann' })
    })
    expect(readKeySets(last())).toEqual(
      expect.arrayContaining([
        { map: 'm', key: 'abcd.1', value: 'x' },
        { map: 'pins', key: 'abcd.1', value: { by: 'ann' } },
      ]),
    )
    expect(readKeySets(last())).toHaveLength(2)
  })

  it('finds keys written by several clients, merged', () => {
    const a = recordingDoc(1)
    const b = recordingDoc(2)
    a.doc.getMap('m').set('aaaa.1', 'from a')
    b.doc.getMap('m').set('bbbb.1', 'from b')
    const merged = Y.mergeUpdates([a.last(), b.last()])
    expect(readKeySets(merged)).toEqual(
      expect.arrayContaining([
        { map: 'm', key: 'aaaa.1', value: 'from a' },
        { map: 'm', key: 'bbbb.1', value: 'from b' },
      ]),
    )
  })

  it('skips overwrites of a key', () => {
    const { doc, last } = recordingDoc()
    const m = doc.getMap('m')
    m.set('abcd.1', 'first')
    m.set('abcd.1', 'second')
    expect(readKeySets(last())).toEqual([])
  })

  it('places an overwrite through the value it replaces when both travel together', () => {
    const first = recordingDoc(1)
    first.doc.getMap('m').set('abcd.1', 'stamped a day ahead')
    // A later session (another clientID) re-stamps it in place; the server never saw the first value.
    const later = recordingDoc(2)
    Y.applyUpdate(later.doc, first.last())
    later.doc.getMap('m').set('abcd.1', 're-stamped')
    const both = Y.encodeStateAsUpdate(later.doc)
    expect(readKeySets(both)).toEqual([{ map: 'm', key: 'abcd.1', value: 're-stamped' }])
    // Alone, the overwrite names no key: it is skipped, as before.
    expect(readKeySets(later.last())).toEqual([])
  })

  it('never reports a value for a key that the same update overwrote', () => {
    const { doc, last } = recordingDoc()
    const m = doc.getMap('m')
    doc.transact(() => {
      m.set('abcd.1', 'first')
      m.set('abcd.1', 'second')
      m.set('abcd.2', 'kept')
    })
    const sets = readKeySets(last())
    expect(sets).toContainEqual({ map: 'm', key: 'abcd.2', value: 'kept' })
    for (const s of sets.filter((x) => x.key === 'abcd.1')) expect(s.value).toBe('second')
    m.set('abcd.2', 'changed')
    for (const s of readKeySets(Y.encodeStateAsUpdate(doc)).filter((x) => x.key === 'abcd.2'))
      expect(s.value).toBe('changed')
  })

  it('does not report the stale value of a key overwritten or removed in the same update, without gc', () => {
    const doc = new Y.Doc({ gc: false })
    const updates: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => updates.push(update))
    const m = doc.getMap('m')
    doc.transact(() => {
      m.set('abcd.1', 'first')
      m.set('abcd.1', 'second')
      m.set('abcd.2', 'removed')
      m.delete('abcd.2')
      m.set('abcd.3', 'kept')
    })
    for (const update of [updates[0]!, Y.encodeStateAsUpdate(doc)]) {
      const sets = readKeySets(update)
      expect(sets).toContainEqual({ map: 'm', key: 'abcd.3', value: 'kept' })
      expect(sets.filter((x) => x.key === 'abcd.2')).toEqual([])
      for (const s of sets.filter((x) => x.key === 'abcd.1')) expect(s.value).toBe('second')
    }
  })

  it('keeps a key explicitly set to undefined or null', () => {
    const { doc, last } = recordingDoc()
    doc.getMap('m').set('abcd.1', null)
    expect(readKeySets(last())).toEqual([{ map: 'm', key: 'abcd.1', value: null }])
    doc.getMap('m').set('abcd.2', undefined)
    const sets = readKeySets(last())
    expect(sets).toHaveLength(1)
    expect(sets[0]).toMatchObject({ map: 'm', key: 'abcd.2' })
    expect(sets[0]!.value).toBeUndefined()
  })

  it('skips nested maps, arrays, text and deletions', () => {
    const { doc, last } = recordingDoc()
    const nested = new Y.Map<unknown>()
    doc.getMap('m').set('outer', nested)
    expect(readKeySets(last()).map((s) => s.key)).toEqual(['outer'])
    nested.set('inner', 1)
    expect(readKeySets(last())).toEqual([])
    doc.getArray('list').push([1, 2])
    expect(readKeySets(last())).toEqual([])
    doc.getText('text').insert(0, 'hello')
    expect(readKeySets(last())).toEqual([])
    doc.getMap('m').delete('outer')
    expect(readKeySets(last())).toEqual([])
  })

  it('is empty for an empty update', () => {
    expect(readKeySets(Y.encodeStateAsUpdate(new Y.Doc()))).toEqual([])
  })

  it('lists exactly the keys and values a transaction sets first (property)', () => {
    const keyArb = fc.stringMatching(/^[a-z0-9]{4}\.[1-9][0-9]{0,3}$/)
    // Yjs decodes a "__proto__" key as a prototype; validateBody refuses such bodies.
    const valueArb = fc.jsonValue({ maxDepth: 2 }).filter((v) => !JSON.stringify(v)?.includes('"__proto__"'))
    const batchArb = fc.uniqueArray(fc.tuple(keyArb, valueArb), {
      selector: ([k]) => k,
      maxLength: 8,
    })
    fc.assert(
      fc.property(fc.array(batchArb, { maxLength: 4 }), (batches) => {
        const { doc, updates } = recordingDoc()
        const m = doc.getMap('m')
        const seen = new Set<string>()
        for (const batch of batches) {
          const count = updates.length
          doc.transact(() => {
            for (const [k, v] of batch) m.set(k, v)
          })
          const fresh = batch.filter(([k]) => !seen.has(k))
          for (const [k] of batch) seen.add(k)
          if (batch.length === 0) continue
          expect(updates.length).toBe(count + 1)
          const sets = readKeySets(updates[count]!)
          // Yjs keeps values as given (-0 included), so compare with them as set.
          const expected = fresh.map(([key, value]) => ({ map: 'm', key, value }))
          const byKey = (a: { key: string }, b: { key: string }) =>
            a.key < b.key ? -1 : a.key > b.key ? 1 : 0
          expect([...sets].sort(byKey)).toEqual(expected.sort(byKey))
        }
      }),
      { numRuns: 100, ...replay },
    )
  })

  it.each([
    ['no bytes', []],
    ['one zero', [0]],
    ['a count with nothing after it', [1]],
    ['0xff bytes', [255, 255, 255, 255]],
    ['small numbers', [1, 2, 3]],
    ['repeated ones', [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
    ['a delete set with no clients data', [0, 1]],
  ])('throws on garbage: %s', (_name, bytes) => {
    expect(() => readKeySets(new Uint8Array(bytes))).toThrow()
  })

  it('throws on every truncation of a real update', () => {
    const { doc } = recordingDoc()
    doc.getMap('m').set('abcd.1', record(1))
    doc.getMap('m').set('abcd.2', 'short')
    const update = Y.encodeStateAsUpdate(doc)
    const survivors: number[] = []
    for (let n = 0; n < update.length; n++) {
      try {
        readKeySets(update.slice(0, n))
        survivors.push(n)
      } catch {}
    }
    expect(survivors).toEqual([])
  })
})

describe('extendStateVector', () => {
  it('adds the outbox updates that continue the known state, and only those', () => {
    const doc = new Y.Doc()
    const updates: Uint8Array[] = []
    doc.on('update', (u: Uint8Array) => updates.push(u))
    for (let i = 0; i < 4; i++) doc.getMap('m').set(`k${i}`, i)
    const known = Y.encodeStateVector(new Y.Doc())
    // Updates 1-3 are in the outbox, update 0 is not: nothing continues the empty state.
    expect(Y.decodeStateVector(extendStateVector(known, updates.slice(1)))).toEqual(new Map())
    const extended = extendStateVector(known, updates)
    expect(Y.decodeStateVector(extended)).toEqual(Y.decodeStateVector(Y.encodeStateVector(doc)))
    expect(isEmptyUpdate(Y.encodeStateAsUpdate(doc, extended))).toBe(true)
  })
})

describe('mergeUpdatesTree', () => {
  it('gives the same doc as applying every update, for any number of them', () => {
    for (const n of [0, 1, 31, 33, 1100]) {
      const doc = new Y.Doc()
      const updates: Uint8Array[] = []
      doc.on('update', (u: Uint8Array) => updates.push(u))
      for (let i = 0; i < n; i++) doc.getMap('m').set(`k${i}`, i)
      const copy = new Y.Doc()
      Y.applyUpdate(copy, mergeUpdatesTree(updates))
      expect(copy.getMap('m').toJSON()).toEqual(doc.getMap('m').toJSON())
    }
  })
})
