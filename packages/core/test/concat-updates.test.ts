import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { concatUpdates } from '../src/concat-updates.js'
import { mergeUpdatesTree } from '../src/updates.js'

const valueArb = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.uint8Array({ maxLength: 20 }),
  fc.constant(undefined),
  fc.double(),
  fc.bigInt().map(() => 2 ** 40),
)
/** One local transaction: set a new key, overwrite one (a deletion), insert text, or several sets. */
const opArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ set: valueArb }) },
  { weight: 1, arbitrary: fc.record({ overwrite: fc.nat(), value: valueArb }) },
  { weight: 1, arbitrary: fc.record({ text: fc.string({ maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ many: fc.array(valueArb, { maxLength: 3 }) }) },
)

const state = (updates: readonly Uint8Array[]) => {
  const doc = new Y.Doc()
  for (const u of updates) Y.applyUpdate(doc, u)
  return { json: doc.getMap('m').toJSON(), text: doc.getText('t').toString(), sv: Y.encodeStateVector(doc) }
}

describe('concatUpdates', () => {
  it('gives the effect of Yjs mergeUpdates whenever it answers, and answers for runs of new keys', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.nat(), fc.nat(), (ops, a, b) => {
        const doc = new Y.Doc()
        const map = doc.getMap<unknown>('m')
        const updates: Uint8Array[] = []
        doc.on('update', (u: Uint8Array) => updates.push(u))
        let keys = 0
        // The op behind each update: a transaction that changed nothing emits none.
        const sources: (typeof ops)[number][] = []
        for (const op of ops) {
          const before = updates.length
          doc.transact(() => {
            if ('set' in op) map.set(`k${keys++}`, op.set)
            else if ('overwrite' in op) map.set(keys > 0 ? `k${op.overwrite % keys}` : `k${keys++}`, op.value)
            else if ('text' in op) doc.getText('t').insert(0, op.text)
            else for (const v of op.many) map.set(`k${keys++}`, v)
          })
          if (updates.length > before) sources.push(op)
        }
        if (updates.length === 0) return
        const from = a % updates.length
        const to = from + (b % (updates.length - from + 1))
        const slice = updates.slice(from, to)
        const fast = concatUpdates(slice)
        const onlySets = sources.slice(from, to).every((op) => 'set' in op || 'many' in op)
        if (onlySets) expect(fast).toBeDefined()
        const base = updates.slice(0, from)
        if (fast) expect(state([...base, fast])).toEqual(state([...base, Y.mergeUpdates(slice)]))
        // Out of order, the runs are not contiguous: never concatenated into something else.
        const reversed = [...slice].reverse()
        const backwards = concatUpdates(reversed)
        if (backwards) expect(state([...base, backwards])).toEqual(state([...base, ...slice]))
        expect(state([...base, mergeUpdatesTree(slice)])).toEqual(state(updates.slice(0, to)))
      }),
      { seed: 7, numRuns: 500 },
    )
  })

  it('refuses updates of several clients and bytes that are no update', () => {
    const one = new Y.Doc()
    const two = new Y.Doc()
    const updates: Uint8Array[] = []
    for (const doc of [one, two]) doc.on('update', (u: Uint8Array) => updates.push(u))
    one.getMap('m').set('a', 1)
    two.getMap('m').set('b', 2)
    expect(concatUpdates(updates)).toBeUndefined()
    expect(concatUpdates([Y.mergeUpdates(updates)])).toBeUndefined()
    expect(concatUpdates([new Uint8Array([1, 1, 5])])).toBeUndefined()
    expect(concatUpdates([])).toEqual(new Uint8Array([0, 0]))
  })
})
