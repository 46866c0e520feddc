import { chatText } from '@tidings/testing'
import { ENGINES } from './engines.js'
import { METHOD_SIZES } from './notes.js'
import { type Part, row, verdicts } from './rows.js'
import { runSizes, SIZE_MESSAGES, sizesTable } from './sizes.js'
import { sqliteStoreSizes, storeSizesTable } from './store-sizes.js'
import { log, messageText } from './workload.js'

/** Issue #12: compacted bytes per message at most half of the same messages as JSON. */
const GOAL_OF_JSON = 0.5

/** The bench's own texts, and chat-like ones that compress as natural language does. */
const VARIANTS = [
  { label: 'bench texts', text: messageText },
  {
    label: 'chat-like texts',
    text: (
      (next) => (_i: number) =>
        next()
    )(chatText(12)),
  },
] as const

export const sizesPart: Part = {
  name: 'sizes',
  async run({ smoke }) {
    const specs = ENGINES.filter((spec) => !smoke || !spec.prefills)
    const results = await runSizes(specs)
    const stores = []
    for (const v of VARIANTS) {
      log(`sizes: SQLite store, ${v.label}`)
      stores.push({ label: v.label, sizes: await sqliteStoreSizes(SIZE_MESSAGES, v.text) })
    }
    const peers = Object.fromEntries(results.map((r) => [r.spec.name, r.sizes.compacted / SIZE_MESSAGES]))
    const rows = stores.flatMap(({ label, sizes }) => {
      const per = (n: number) => n / SIZE_MESSAGES
      const scenario = `bytes on disk per message after compaction, ${SIZE_MESSAGES} messages, ${label}`
      const metric = 'SQLite file B/msg after VACUUM'
      const common = { scenario, metric, unit: 'B', value: per(sizes.file) }
      return [
        row({
          ...common,
          peers: { 'JSON of the same messages': per(sizes.json), ...(label === 'bench texts' ? peers : {}) },
          ratio: sizes.file / sizes.json,
          goal: `≤ ${GOAL_OF_JSON}× JSON`,
          bound: { atMost: GOAL_OF_JSON },
        }),
        row({
          ...common,
          peers: { 'Loro snapshot of the same records': per(sizes.loro) },
          ratio: sizes.file / sizes.loro,
          goal: '< 1× Loro snapshot',
          bound: { atMost: 1 },
        }),
        row({
          scenario,
          metric: 'compacted row B/msg (deflated)',
          unit: 'B',
          value: per(sizes.row),
          peers: {
            'JSON of the same messages': per(sizes.json),
            'row merged, not deflated': per(sizes.rawRow),
          },
        }),
      ]
    })
    return {
      title: `3. Stored bytes for ${SIZE_MESSAGES.toLocaleString('en-US')} messages`,
      body: [
        sizesTable(results),
        '',
        storeSizesTable(stores, SIZE_MESSAGES),
        '',
        verdicts(rows),
        '',
        METHOD_SIZES,
      ].join('\n'),
      rows,
    }
  },
}
