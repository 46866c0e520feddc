import { ENGINES } from './engines.js'
import { METHOD_SIZES } from './notes.js'
import { type Part, row, verdicts } from './rows.js'
import { runSizes, SIZE_MESSAGES, sizesTable } from './sizes.js'
import { sqliteStoreSizes, storeSizesTable } from './store-sizes.js'

/** Issue #12: compacted bytes per message at most half of the same messages as JSON. */
const GOAL_OF_JSON = 0.5

export const sizesPart: Part = {
  name: 'sizes',
  async run({ smoke }) {
    const specs = ENGINES.filter((spec) => !smoke || !spec.prefills)
    const results = await runSizes(specs)
    const store = await sqliteStoreSizes(SIZE_MESSAGES)
    const perMessage = (name: string) => {
      const found = results.find((r) => r.spec.name === name)
      return found ? found.sizes.compacted / SIZE_MESSAGES : Number.NaN
    }
    const peers = Object.fromEntries(results.map((r) => [r.spec.name, r.sizes.compacted / SIZE_MESSAGES]))
    const file = store.file / SIZE_MESSAGES
    const json = perMessage('JSON array (push)')
    const loro = perMessage('Loro LoroMap set by id')
    const scenario = `bytes on disk per message after compaction, ${SIZE_MESSAGES} messages`
    const metric = 'SQLite file B/msg after VACUUM'
    const rows = [
      row({
        scenario,
        metric,
        unit: 'B',
        value: file,
        peers,
        ratio: file / json,
        goal: `≤ ${GOAL_OF_JSON}× JSON`,
        bound: { atMost: GOAL_OF_JSON },
      }),
      row({
        scenario,
        metric,
        unit: 'B',
        value: file,
        peers: { 'Loro LoroMap set by id': loro },
        ratio: file / loro,
        goal: '< 1× Loro snapshot',
        bound: { atMost: 1 },
      }),
      row({
        scenario,
        metric: 'compacted row B/msg (deflated)',
        unit: 'B',
        value: store.row / SIZE_MESSAGES,
        peers: { 'JSON array (push)': json, 'row merged, not deflated': store.rawRow / SIZE_MESSAGES },
      }),
    ]
    return {
      title: `3. Stored bytes for ${SIZE_MESSAGES.toLocaleString('en-US')} messages`,
      body: [
        sizesTable(results),
        '',
        storeSizesTable(store, SIZE_MESSAGES),
        '',
        verdicts(rows),
        '',
        METHOD_SIZES,
      ].join('\n'),
      rows,
    }
  },
}
