import type { Layout } from './generate.js'
import { type HeapResult, runHeap } from './heap.js'
import { type Part, row, verdicts } from './rows.js'
import { int, markdownTable, ratio } from './table.js'
import { log, median } from './workload.js'

const REPS = 3
/** Issue #12: a loaded message costs at most this many times the same message as parsed JSON. */
const GOAL_RATIO = 1.5

const layoutOf = (messages: number, perPeriod: number): Layout => ({
  label: `${int(messages)} messages in ${messages / perPeriod} weekly periods × ${int(perPeriod)}, compacted`,
  messages,
  perPeriod,
  rows: 'per-period',
})

const METHOD = `How: the conversation is written into a SQLite file as in measurement 2. In a fresh process, after
two full GCs (\`--expose-gc\`), a client opens it and calls \`loadOlder()\` until it resolves false (every
period loaded, \`messages()\` holding them all); two more full GCs, and the growth of \`heapUsed\` ÷ messages is
Tidings' figure: its loaded Y.Docs, view, timeline and message snapshots. The peer, in the same process
after the client closed: the same records as JSON lines (\`{ id, author, device, stamp, body, priority }\`),
made before its baseline, then \`JSON.parse\` of each kept in an array; heap growth after two full GCs ÷
messages (the text itself is not counted). Median of ${REPS} processes.`

export const heapPart: Part = {
  name: 'heap',
  async run({ smoke }) {
    const layout = smoke ? layoutOf(2_000, 500) : layoutOf(100_000, 10_000)
    const results: HeapResult[] = []
    for (let r = 0; r < (smoke ? 1 : REPS); r++) {
      log(`heap: ${layout.label}, rep ${r + 1}`)
      results.push(await runHeap(layout))
    }
    const tidings = median(results.map((r) => r.tidings))
    const json = median(results.map((r) => r.json))
    const rows = [
      row({
        scenario: `heap per loaded message: ${layout.label}`,
        metric: 'retained heap per message',
        unit: 'B',
        value: tidings,
        peers: { 'JSON.parse of the same records': json },
        ratio: tidings / json,
        goal: `≤ ${GOAL_RATIO}× the same messages as parsed JSON objects`,
        bound: { atMost: GOAL_RATIO },
      }),
    ]
    const table = markdownTable(
      ['conversation', 'Tidings B/msg (min–max)', 'JSON.parse B/msg (min–max)', 'ratio'],
      [
        [
          layout.label,
          `${int(tidings)} (${int(Math.min(...results.map((r) => r.tidings)))}–${int(Math.max(...results.map((r) => r.tidings)))})`,
          `${int(json)} (${int(Math.min(...results.map((r) => r.json)))}–${int(Math.max(...results.map((r) => r.json)))})`,
          ratio(tidings / json),
        ],
      ],
    )
    return {
      title: '5. Heap per loaded message',
      body: [table, '', verdicts(rows), '', METHOD].join('\n'),
      rows,
    }
  },
}
