import type { EngineSpec, Sizes } from './engines.js'
import { bytes, markdownTable, sig } from './table.js'
import { collectGarbage, log } from './workload.js'

export const SIZE_MESSAGES = process.env.BENCH_SMOKE === '1' ? 500 : 10_000
/** Changes sampled after a bulk prefill, for engines too slow to write 10k one at a time. */
const SAMPLE = process.env.BENCH_SMOKE === '1' ? 20 : 200

export interface SizeResult {
  readonly spec: EngineSpec
  readonly sizes: Sizes
  /** True when `updates` is extrapolated from the last SAMPLE single changes. */
  readonly estimated: boolean
}

export const runSizes = async (specs: readonly EngineSpec[]): Promise<SizeResult[]> => {
  const results: SizeResult[] = []
  for (const spec of specs) {
    log(`sizes: ${spec.name}`)
    const prefill = spec.prefills ? SIZE_MESSAGES - SAMPLE : 0
    const engine = await spec.make(prefill)
    for (let i = prefill + 1; i <= SIZE_MESSAGES; i++) {
      const pending = engine.append(i)
      if (pending instanceof Promise) await pending
    }
    const measured = await engine.sizes()
    const sizes = spec.prefills
      ? { updates: Math.round((measured.updates / SAMPLE) * SIZE_MESSAGES), compacted: measured.compacted }
      : measured
    results.push({ spec, sizes, estimated: spec.prefills === true })
    await engine.close()
    collectGarbage()
  }
  return results
}

export const sizesTable = (results: readonly SizeResult[]): string =>
  markdownTable(
    [
      'engine',
      'one update per message (10k)',
      'B/msg',
      'compacted (merged update / snapshot / save / file)',
      'B/msg',
    ],
    results.map(({ spec, sizes, estimated }) => [
      spec.name,
      `${estimated ? '≈ ' : ''}${bytes(sizes.updates)}`,
      sig(sizes.updates / SIZE_MESSAGES),
      bytes(sizes.compacted),
      sig(sizes.compacted / SIZE_MESSAGES),
    ]),
  )
