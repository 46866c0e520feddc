import * as fc from 'fast-check'
import { expect, it } from 'vitest'
import type { StorageAdapter, StoredUpdate } from '../storage.js'
import { indexArb, keyArb, sameBytes } from './arbitraries.js'
import { compactModel, newModel, pick, poolArb, write, writeSpecArb } from './storage-model.js'

/** What the tests of the optional methods get from the suite. */
export interface SharedContext {
  readonly adapter: StorageAdapter
  /** Handles on the same store, the first being `adapter`: several when setup gives `peer`. */
  readonly handles: readonly StorageAdapter[]
  readonly reopen: (() => Promise<StorageAdapter>) | undefined
}

type Runner = (fn: (ctx: SharedContext) => Promise<void>) => Promise<void>
type Check = <Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<Ts>) => Promise<void>

const rowsOf = (rows: StoredUpdate[]) => rows.map((r) => ({ n: r.n, size: r.update.length }))
const sameRows = (a: StoredUpdate[], b: StoredUpdate[]) =>
  a.length === b.length && a.every((r, i) => r.n === b[i]!.n && sameBytes(r.update, b[i]!.update))
const yieldTurns = async (turns: number) => {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setTimeout(resolve, 0))
}

/** Steps of the claim model: a claim of some keys, or a plain write that sets or deletes some. */
const claimStepArb = fc.oneof(
  fc
    .array(fc.tuple(indexArb, fc.string({ maxLength: 6 }), fc.nat({ max: 3 })), {
      minLength: 1,
      maxLength: 4,
    })
    .map((claims) => ({ claims })),
  fc
    .array(fc.tuple(indexArb, fc.option(fc.string({ maxLength: 6 }), { nil: null })), {
      minLength: 1,
      maxLength: 3,
    })
    .map((sets) => ({ sets })),
)

/**
 * Registers the tests of `loadAfter`, `claimMeta` and `withLock`; each one is skipped when the
 * adapter lacks the method. With `peer` in setup, calls are spread over two handles of one store.
 */
export const sharedStorageTests = (withStore: Runner, check: Check, timeout: number): void => {
  const skipUnless = (has: boolean, context: { skip: () => void }) => {
    if (!has) context.skip()
  }
  const probe = async (name: 'loadAfter' | 'claimMeta' | 'withLock') => {
    let has = false
    await withStore(async ({ adapter }) => {
      has = typeof adapter[name] === 'function'
    })
    return has
  }

  it(
    'loadAfter(doc, n) gives the rows of load(doc) above n, across compactions and other handles',
    async (context) => {
      skipUnless(await probe('loadAfter'), context)
      const stepArb = fc.oneof(
        fc.tuple(writeSpecArb, fc.nat({ max: 1 })).map(([spec, via]) => ({ spec, via })),
        indexArb.map((compact) => ({ compact })),
      )
      await check(
        fc.asyncProperty(poolArb, fc.array(stepArb, { minLength: 1, maxLength: 6 }), (pool, steps) =>
          withStore(async ({ adapter, handles }) => {
            const model = newModel(pool)
            for (const step of steps) {
              if ('compact' in step) {
                await adapter.compact(pick(pool.docs, step.compact))
                compactModel(model, pick(pool.docs, step.compact))
              } else await write(pick(handles, step.via), model, step.spec)
            }
            for (const doc of pool.docs) {
              const all = await adapter.load(doc)
              const cuts = [0, -1, ...all.flatMap((r) => [r.n - 1, r.n, r.n + 0.5]), Number.MAX_SAFE_INTEGER]
              for (const reader of handles) {
                for (const cut of cuts) {
                  const after = await reader.loadAfter!(doc, cut)
                  const want = all.filter((r) => r.n > cut)
                  expect(sameRows(after, want), `loadAfter(${JSON.stringify(doc)}, ${cut})`).toBe(true)
                  if (!sameRows(after, want)) expect(rowsOf(after)).toEqual(rowsOf(want))
                }
              }
            }
            expect(await adapter.loadAfter!(`${pool.docs[0]}\u{1F600}`, 0), 'an unknown doc').toEqual([])
            // Dropped and written again, a doc numbers its rows after every number it used before.
            const doc = pick(pool.docs, 0)
            const before = Math.max(0, ...(await adapter.load(doc)).map((r) => r.n))
            await adapter.write({ updates: [{ doc, update: new Uint8Array([0, 0]) }] })
            const used = Math.max(...(await adapter.load(doc)).map((r) => r.n))
            await adapter.drop(doc)
            await pick(handles, 1).write({ updates: [{ doc, update: new Uint8Array([0, 0]) }] })
            const [again] = await adapter.loadAfter!(doc, 0)
            expect(again!.n, 'the first row after a drop').toBeGreaterThan(Math.max(before, used))
          }),
        ),
      )
    },
    timeout,
  )

  it(
    'claimMeta sets only keys without a value and tells the value each key holds; writes still overwrite',
    async (context) => {
      skipUnless(await probe('claimMeta'), context)
      const keysArb = fc.uniqueArray(keyArb, { minLength: 1, maxLength: 4 })
      await check(
        fc.asyncProperty(keysArb, fc.array(claimStepArb, { minLength: 1, maxLength: 8 }), (keys, steps) =>
          withStore(async ({ handles, reopen }) => {
            const meta = new Map<string, string>()
            let handle = 0
            for (const step of steps) {
              const via = handles[handle++ % handles.length]!
              if ('sets' in step) {
                const batch = Object.fromEntries(step.sets.map(([k, v]) => [pick(keys, k), v]))
                await via.write({ meta: batch })
                for (const [k, v] of Object.entries(batch)) {
                  if (v === null) meta.delete(k)
                  else meta.set(k, v)
                }
                continue
              }
              const claims = Object.fromEntries(step.claims.map(([k, v]) => [pick(keys, k), v]))
              const held = await via.claimMeta!(claims)
              for (const [k, v] of Object.entries(claims)) if (!meta.has(k)) meta.set(k, v)
              const want = new Map(Object.keys(claims).map((k) => [k, meta.get(k)!]))
              expect(new Map(held), `claimMeta(${JSON.stringify(claims)})`).toEqual(want)
            }
            for (const k of keys)
              for (const reader of handles) expect(await reader.getMeta(k), `getMeta(${k})`).toBe(meta.get(k))
            if (!reopen) return
            for (const h of handles) await h.close()
            const again = await reopen()
            try {
              for (const k of keys)
                expect(await again.getMeta(k), `getMeta(${k}) after reopen`).toBe(meta.get(k))
            } finally {
              await again.close()
            }
          }),
        ),
      )
    },
    timeout,
  )

  it(
    'claimMeta races on one key, over every handle at once, agree on a single winner',
    async (context) => {
      skipUnless(await probe('claimMeta'), context)
      await check(
        fc.asyncProperty(keyArb, fc.integer({ min: 2, max: 12 }), (key, racers) =>
          withStore(async ({ handles }) => {
            const values = Array.from({ length: racers }, (_, i) => `user-${i}`)
            const results = await Promise.all(
              values.map((v, i) => pick(handles, i).claimMeta!({ [key]: v, [`${key}/${i}`]: v })),
            )
            const winner = results[0]!.get(key)
            expect(values, 'the winner is one of the claimants').toContain(winner)
            for (const [i, held] of results.entries()) {
              expect(held.get(key), `racer ${i} learns the winner`).toBe(winner)
              expect(held.get(`${key}/${i}`), `racer ${i} wins its own key`).toBe(values[i])
            }
            for (const h of handles) expect(await h.getMeta(key)).toBe(winner)
          }),
        ),
      )
    },
    timeout,
  )

  it(
    'withLock never lets two holders of a common name overlap, passes results and errors through',
    async (context) => {
      skipUnless(await probe('withLock'), context)
      const callArb = fc.record({
        names: fc.uniqueArray(fc.constantFrom('a/meta', 'a/urgent/1', 'b/meta', 'ü', ''), {
          minLength: 1,
          maxLength: 3,
        }),
        turns: fc.nat({ max: 3 }),
        fails: fc.boolean(),
      })
      await check(
        fc.asyncProperty(fc.array(callArb, { minLength: 2, maxLength: 8 }), (calls) =>
          withStore(async ({ handles }) => {
            const active = new Map<string, number>()
            const overlaps: string[] = []
            const settled = await Promise.allSettled(
              calls.map((call, i) =>
                pick(handles, i).withLock!(call.names, async () => {
                  for (const name of call.names) {
                    if (active.has(name)) overlaps.push(`${i} entered ${name} held by ${active.get(name)}`)
                    active.set(name, i)
                  }
                  await yieldTurns(call.turns)
                  // A storage call inside the lock, as a read-check-write does.
                  await pick(handles, i + 1).getMeta(`lock/${i}`)
                  for (const name of call.names) active.delete(name)
                  if (call.fails) throw new Error(`call ${i} failed`)
                  return i
                }),
              ),
            )
            expect(overlaps, 'holders of a common name overlapped').toEqual([])
            for (const [i, result] of settled.entries()) {
              if (calls[i]!.fails)
                expect(result, `call ${i}`).toMatchObject({
                  status: 'rejected',
                  reason: { message: `call ${i} failed` },
                })
              else expect(result, `call ${i}`).toEqual({ status: 'fulfilled', value: i })
            }
            // Every lock was released: each name can be taken again at once.
            const again = await handles[0]!.withLock!(
              ['a/meta', 'a/urgent/1', 'b/meta', 'ü', ''],
              async () => 'free',
            )
            expect(again).toBe('free')
          }),
        ),
      )
    },
    timeout,
  )
}
