import type { Layout } from './generate.js'
import { type JoinResult, runJoin } from './join.js'
import { type Part, row, verdicts } from './rows.js'
import { bytes, int, markdownTable, ms } from './table.js'
import { log, median } from './workload.js'

const REPS = 3
/** Issue #12: a joining device downloads at most this many periods before its first screen … */
const GOAL_PERIODS = 2

const layoutOf = (messages: number, perPeriod: number): Layout => ({
  label: `${int(messages)} messages in ${int(messages / perPeriod)} weekly periods × ${int(perPeriod)}, compacted`,
  messages,
  perPeriod,
  rows: 'per-period',
})

const METHOD = `How: a \`@tidings/server\` on 127.0.0.1 (port 0, memory storage) holds the conversation, written into
its storage in Tidings' layout as in measurement 2 (one device of user alice). A new device of user bob, with
empty memory storage and \`websocketTransport\` (a \`ws\` WebSocket subclass counts every byte of every frame it
receives), calls \`client.open(id)\`: "first screen" is when \`messages()\` first holds 50 messages, "first sync"
when \`client.whenSynced()\` resolves. Periods are the distinct periods of the message docs it received
updates of (sync answers and pushes) by then. The goal asks for at most ${GOAL_PERIODS} periods before the first
screen and nothing older until \`loadOlder()\`: the second row counts what the first sync brings unasked.
The issue's size is 1,000,000 messages; this run uses 100,000 in 100 periods because today's client
downloads and loads every period at its first sync (at 1M: about 145 MiB on the wire and, at about 1.4 KiB
of heap per loaded message, some 1.4 GiB of heap). Median of ${REPS} processes.`

export const joinPart: Part = {
  name: 'join',
  async run({ smoke }) {
    const layout = smoke ? layoutOf(2_000, 500) : layoutOf(100_000, 1_000)
    const results: JoinResult[] = []
    for (let r = 0; r < (smoke ? 1 : REPS); r++) {
      log(`join: ${layout.label}, rep ${r + 1}`)
      results.push(await runJoin(layout))
    }
    const mid = (pick: (r: JoinResult) => number) => median(results.map(pick))
    const scenario = `new device joining ${layout.label}`
    const rows = [
      row({
        scenario,
        metric: 'periods downloaded before the first screen',
        unit: 'periods',
        value: mid((r) => r.periodsBefore),
        goal: `≤ ${GOAL_PERIODS} periods`,
        bound: { atMost: GOAL_PERIODS },
      }),
      row({
        scenario,
        metric: 'periods downloaded by the first sync, before any loadOlder()',
        unit: 'periods',
        value: mid((r) => r.periodsSynced),
        goal: `≤ ${GOAL_PERIODS} periods (older ones only on loadOlder())`,
        bound: { atMost: GOAL_PERIODS },
      }),
      row({ scenario, metric: 'bytes before the first screen', unit: 'B', value: mid((r) => r.bytesBefore) }),
      row({ scenario, metric: 'time to the first screen', unit: 'ms', value: mid((r) => r.firstScreenMs) }),
    ]
    const table = markdownTable(
      [
        'conversation',
        'periods',
        'first screen after',
        'periods before it',
        'bytes before it',
        'first sync after',
        'periods by then',
        'bytes by then',
        'messages() after sync',
      ],
      [
        [
          layout.label,
          int(results[0]!.periods),
          ms(mid((r) => r.firstScreenMs)),
          int(mid((r) => r.periodsBefore)),
          bytes(mid((r) => r.bytesBefore)),
          ms(mid((r) => r.syncedMs)),
          int(mid((r) => r.periodsSynced)),
          bytes(mid((r) => r.bytesSynced)),
          int(mid((r) => r.shownAfterSync)),
        ],
      ],
    )
    return {
      title: '6. A new device joining a conversation',
      body: [table, '', verdicts(rows), '', METHOD].join('\n'),
      rows,
    }
  },
}
