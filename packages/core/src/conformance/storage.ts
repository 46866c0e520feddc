import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { StorageAdapter } from '../storage.js'
import {
  bytesArb,
  type ConformanceOptions,
  indexArb,
  propertyParameters,
  sameBytes,
  swapCase,
} from './arbitraries.js'
import {
  applyBatch,
  buildBatch,
  commandsArb,
  compactModel,
  compactTailModel,
  expectModel,
  messagesArb,
  newestArb,
  newModel,
  pick,
  poolArb,
  type Real,
  type WriteSpec,
  write,
  writeSpecArb,
} from './storage-model.js'
import { type SharedContext, sharedStorageTests } from './storage-shared.js'

/** A fresh, empty store for one test run. */
export interface StorageConformanceSetup {
  readonly adapter: StorageAdapter
  /** Opens the same store again after the suite closed the adapter it held: enables durability checks. */
  readonly reopen?: () => Promise<StorageAdapter>
  /**
   * Opens a second handle on the same store while the first stays open, as a second process
   * would (stores that several processes share): the tests of `loadAfter`, `claimMeta` and
   * `withLock` then spread their calls over both. The suite closes it before `teardown`.
   */
  readonly peer?: () => Promise<StorageAdapter>
  /** Releases what setup made. The suite has closed the adapter it last held before calling it. */
  readonly teardown?: () => Promise<void>
}

const expectRejects = async (call: () => Promise<unknown>, code: string, what: string) => {
  let promise: Promise<unknown>
  try {
    promise = call()
  } catch (error) {
    throw new Error(`${what} threw instead of returning a rejected promise`, { cause: error })
  }
  await expect(promise, what).rejects.toMatchObject({ name: 'TidingsError', code })
}
const POISONS: Record<string, () => unknown> = {
  string: () => 'bytes',
  'number[]': () => [1, 2, 3],
  null: () => null,
  undefined: () => undefined,
  ArrayBuffer: () => new ArrayBuffer(3),
  number: () => 42,
  object: () => ({}),
}

/**
 * Registers the storage conformance tests (vitest + fast-check). `setup` gives a fresh, empty store
 * for each run; a store that can be reopened also gets the durability checks. Every property is seeded:
 * a failure prints the seed and path to replay (options or env `FC_SEED`, `FC_PATH`).
 */
export function runStorageConformance(
  setup: () => Promise<StorageConformanceSetup>,
  options: ConformanceOptions = {},
): void {
  const timeout = options.timeout ?? 60_000
  const withStore = async (fn: (real: Real) => Promise<void>) => {
    const store = await setup()
    const real: Real = { adapter: store.adapter, reopen: store.reopen }
    try {
      await fn(real)
    } finally {
      await real.adapter.close().catch(() => {})
      await store.teardown?.()
    }
  }
  const check = <Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<Ts>) =>
    fc.assert(property, propertyParameters<Ts>(options))
  const withShared = async (fn: (ctx: SharedContext) => Promise<void>) => {
    const store = await setup()
    const handles = [store.adapter]
    try {
      if (store.peer) handles.push(await store.peer())
      await fn({ adapter: store.adapter, handles, reopen: store.reopen })
    } finally {
      for (const h of handles) await h.close().catch(() => {})
      await store.teardown?.()
    }
  }

  describe('storage conformance', () => {
    it(
      'gives back updates of any size under any name in write order, and listDocs counts them',
      () => {
        const updateArb = fc.record({
          doc: indexArb,
          bytes: bytesArb(200 * 1024),
          messages: messagesArb,
          newest: newestArb,
        })
        const batchesArb = fc.array(fc.array(updateArb, { minLength: 1, maxLength: 3 }), {
          minLength: 1,
          maxLength: 4,
        })
        return check(
          fc.asyncProperty(poolArb, batchesArb, (pool, batches) =>
            withStore(async ({ adapter }) => {
              const model = newModel(pool)
              for (const batch of batches) {
                const updates = batch.map(({ doc, bytes: update, messages, newest }) => ({
                  doc: pick(pool.docs, doc),
                  update,
                  ...(messages === undefined ? {} : { messages }),
                  ...(newest === undefined ? {} : { newest }),
                }))
                await adapter.write({ updates })
                applyBatch(model, { updates })
              }
              await expectModel(adapter, model)
              for (const doc of pool.docs) {
                for (const near of [`${doc}x`, doc.slice(0, -1), swapCase(doc), doc.normalize('NFD')]) {
                  if (!model.docs.has(near))
                    expect(await adapter.load(near), `load(${JSON.stringify(near)})`).toEqual([])
                }
              }
            }),
          ),
        )
      },
      timeout,
    )

    it(
      'matches a model under random writes (updates, meta, outbox, acks), compactions, drops and reopens',
      () =>
        check(
          fc.asyncProperty(poolArb, commandsArb, (pool, commands) =>
            withStore(async (real) => {
              const model = newModel(pool, real.reopen !== undefined)
              await fc.asyncModelRun(() => ({ model, real }), commands)
            }),
          ),
        ),
      timeout,
    )

    it(
      'compactTail merges only the newest rows that fit in its byte bound, with the same Yjs effect',
      () =>
        check(
          fc.asyncProperty(poolArb, fc.array(writeSpecArb, { maxLength: 6 }), fc.nat(), (pool, specs, m) =>
            withStore(async ({ adapter }) => {
              if (!adapter.compactTail) return
              const model = newModel(pool)
              const one = (key: string): WriteSpec['updates'][number] => ({
                doc: 0,
                author: key.length % 2,
                sets: [[key, key]],
                messages: 1,
                newest: key.length,
              })
              const own = ['x', 'yy', 'zzz'].map((key) => ({
                updates: [one(key)],
                meta: [],
                outbox: [],
                acked: [],
              }))
              for (const spec of [...specs, ...own]) await write(adapter, model, spec)
              const target = pick(pool.docs, 0)
              // Rows as written (none merged yet): the bound takes exactly the newest `take` of them.
              const rows = model.docs.get(target)?.rows ?? []
              const take = m % (rows.length + 1)
              const maxBytes = rows.slice(rows.length - take).reduce((n, r) => n + r.bytes.length, 0)
              await adapter.compactTail(target, maxBytes)
              compactTailModel(model, target, maxBytes)
              await expectModel(adapter, model)
              await write(adapter, model, { ...own[0]!, updates: [one('wwww')] })
              await expectModel(adapter, model)
            }),
          ),
        ),
      timeout,
    )

    it(
      'compacts a doc into one row with the same Yjs effect; counts stay, later rows come after it',
      () =>
        check(
          fc.asyncProperty(poolArb, fc.array(writeSpecArb, { maxLength: 5 }), (pool, specs) =>
            withStore(async ({ adapter }) => {
              const model = newModel(pool)
              const one = (key: string): WriteSpec['updates'][number] => ({
                doc: 0,
                author: key.length % 2,
                sets: [[key, key]],
                messages: 1,
                newest: key.length,
              })
              const target = pick(pool.docs, 0)
              for (const spec of [
                ...specs,
                { updates: [one('x'), one('yy')], meta: [], outbox: [], acked: [] },
              ]) {
                await write(adapter, model, spec)
              }
              await expectModel(adapter, model)
              await adapter.compact(target)
              compactModel(model, target)
              await expectModel(adapter, model)
              for (const doc of pool.docs) {
                await adapter.compact(doc)
                compactModel(model, doc)
              }
              let unknown = `${target}\u{1F600}`
              while (pool.docs.includes(unknown)) unknown += '\u{1F600}'
              await adapter.compact(unknown)
              expect(await adapter.load(unknown), 'compact of an unknown doc').toEqual([])
              await write(adapter, model, { updates: [one('zzz')], meta: [], outbox: [], acked: [] })
              await expectModel(adapter, model)
            }),
          ),
        ),
      timeout,
    )

    for (const where of ['updates', 'outbox'] as const) {
      it(
        `refuses a batch with ${where === 'updates' ? 'an update' : 'an outbox entry'} that is not bytes, changing nothing`,
        () =>
          check(
            fc.asyncProperty(
              poolArb,
              writeSpecArb,
              writeSpecArb,
              fc.constantFrom(...Object.keys(POISONS)),
              indexArb,
              (pool, before, spec, poison, at) =>
                withStore(async ({ adapter }) => {
                  const model = newModel(pool)
                  await write(adapter, model, before)
                  const batch = buildBatch(model, spec)
                  const update = POISONS[poison]!()
                  const doc = pick(pool.docs, at)
                  const list: unknown[] = [...(batch[where] ?? [])]
                  const bad =
                    where === 'updates'
                      ? { doc, update }
                      : { key: 'bad', doc, lane: 'low', update, messages: [] }
                  list.splice(at % (list.length + 1), 0, bad)
                  await expectRejects(
                    () => adapter.write({ ...batch, [where]: list }),
                    'input/invalid',
                    'write()',
                  )
                  await expectModel(adapter, model)
                }),
            ),
          ),
        timeout,
      )
    }

    it(
      'stores and returns copies: mutating bytes after write or after load changes nothing stored',
      () =>
        check(
          fc.asyncProperty(
            poolArb,
            bytesArb(70_000).filter((b) => b.length > 0),
            indexArb,
            (pool, bytes, d) =>
              withStore(async ({ adapter }) => {
                const doc = pick(pool.docs, d)
                const original = bytes.slice()
                const update = bytes.slice()
                const entry = { key: 'k', doc, lane: 'normal' as const, update: bytes, messages: ['m'] }
                await adapter.write({ updates: [{ doc, update }], outbox: [entry] })
                update.fill(0xee)
                bytes.fill(0xee)
                for (let round = 0; round < 2; round++) {
                  const [row] = await adapter.load(doc)
                  const [out] = await adapter.outbox()
                  expect(sameBytes(row!.update, original), `load(), round ${round}`).toBe(true)
                  expect(sameBytes(out!.update, original), `outbox(), round ${round}`).toBe(true)
                  row!.update.fill(0xdd)
                  out!.update.fill(0xdd)
                }
              }),
          ),
        ),
      timeout,
    )

    it(
      'rejects every call after close() with storage/closed',
      () =>
        withStore(async (real) => {
          const a = real.adapter
          await a.write({ updates: [{ doc: 'c/meta', update: new Uint8Array([0, 0]) }], meta: { k: 'v' } })
          await a.close()
          await expectRejects(() => a.listDocs('c'), 'storage/closed', 'listDocs()')
          await expectRejects(() => a.load('c/meta'), 'storage/closed', 'load()')
          await expectRejects(() => a.write({ meta: { k: 'w' } }), 'storage/closed', 'write()')
          await expectRejects(() => a.getMeta('k'), 'storage/closed', 'getMeta()')
          await expectRejects(() => a.outbox(), 'storage/closed', 'outbox()')
          await expectRejects(() => a.compact('c/meta'), 'storage/closed', 'compact()')
          await expectRejects(() => a.drop('c/meta'), 'storage/closed', 'drop()')
          if (a.loadAfter)
            await expectRejects(() => a.loadAfter!('c/meta', 0), 'storage/closed', 'loadAfter()')
          if (a.claimMeta)
            await expectRejects(() => a.claimMeta!({ k: 'x' }), 'storage/closed', 'claimMeta()')
          if (a.withLock)
            await expectRejects(() => a.withLock!(['c/meta'], async () => 1), 'storage/closed', 'withLock()')
          if (!real.reopen) return
          real.adapter = await real.reopen()
          expect(await real.adapter.getMeta('k'), 'a refused write after close').toBe('v')
          expect(await real.adapter.load('c/meta'), 'a refused drop after close').toHaveLength(1)
        }),
      timeout,
    )

    it(
      'keeps everything written across close and reopen (when setup gives reopen)',
      async (context) => {
        const probe = await setup()
        await probe.adapter.close()
        await probe.teardown?.()
        if (!probe.reopen) return context.skip()
        const stepArb = fc.oneof(
          writeSpecArb,
          indexArb.map((compact) => ({ compact })),
        )
        await check(
          fc.asyncProperty(poolArb, fc.array(stepArb, { minLength: 1, maxLength: 6 }), (pool, steps) =>
            withStore(async (real) => {
              const model = newModel(pool, true)
              for (const step of steps) {
                if ('compact' in step) {
                  await real.adapter.compact(pick(pool.docs, step.compact))
                  compactModel(model, pick(pool.docs, step.compact))
                } else await write(real.adapter, model, step)
              }
              for (let round = 0; round < 2; round++) {
                await real.adapter.close()
                real.adapter = await real.reopen!()
                await expectModel(real.adapter, model)
              }
            }),
          ),
        )
      },
      timeout,
    )

    it(
      'sets aside the rows it is told (when it has setAside): the rest load in order, counted',
      async (context) => {
        const probe = await setup()
        const has = probe.adapter.setAside !== undefined
        await probe.adapter.close()
        await probe.teardown?.()
        if (!has) return context.skip()
        await withStore(async ({ adapter }) => {
          const updates = [1, 2, 3, 4].map((i) => ({ doc: 'c/normal/1', update: Uint8Array.of(0, i) }))
          await adapter.write({ updates })
          const before = await adapter.load('c/normal/1')
          const [, second, , fourth] = before.map((row) => row.n)
          await adapter.setAside!('c/normal/1', [second!, fourth!, 999_999], 'Yjs cannot read it')
          const after = await adapter.load('c/normal/1')
          expect(after).toEqual([before[0], before[2]])
          expect((await adapter.listDocs('c')).find((d) => d.doc === 'c/normal/1')?.updates).toBe(2)
          // Nothing to do for an unknown doc; the doc takes writes again.
          await adapter.setAside!('c/normal/2', [1], 'none')
          await adapter.write({ updates: [{ doc: 'c/normal/1', update: Uint8Array.of(0, 5) }] })
          expect((await adapter.load('c/normal/1')).map((row) => row.update[1])).toEqual([1, 3, 5])
        })
      },
      timeout,
    )

    sharedStorageTests(withShared, check, timeout)
  })
}
