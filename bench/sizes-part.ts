import { ENGINES } from './engines.js'
import { METHOD_SIZES } from './notes.js'
import { type Part, row, verdicts } from './rows.js'
import { runSizes, SIZE_MESSAGES, sizesTable } from './sizes.js'

/** Issue #12: compacted bytes per message at most half of the same messages as JSON. */
const GOAL_OF_JSON = 0.5

export const sizesPart: Part = {
  name: 'sizes',
  async run({ smoke }) {
    const specs = ENGINES.filter((spec) => !smoke || !spec.prefills)
    const results = await runSizes(specs)
    const perMessage = (name: string) => {
      const found = results.find((r) => r.spec.name === name)
      return found ? found.sizes.compacted / SIZE_MESSAGES : Number.NaN
    }
    const peers = Object.fromEntries(results.map((r) => [r.spec.name, r.sizes.compacted / SIZE_MESSAGES]))
    const tidings = perMessage('Tidings convo.send')
    const json = perMessage('JSON array (push)')
    const rows = [
      row({
        scenario: `bytes on disk per message after compaction, ${SIZE_MESSAGES} messages`,
        metric: 'compacted B/msg',
        unit: 'B',
        value: tidings,
        peers,
        ratio: tidings / json,
        goal: `≤ ${GOAL_OF_JSON}× JSON`,
        bound: { atMost: GOAL_OF_JSON },
      }),
    ]
    return {
      title: `3. Stored bytes for ${SIZE_MESSAGES.toLocaleString('en-US')} messages`,
      body: [sizesTable(results), '', verdicts(rows), '', METHOD_SIZES].join('\n'),
      rows,
    }
  },
}
