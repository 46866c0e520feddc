import { inChild } from './child.js'
import { type Part, row, verdicts } from './rows.js'
import type { BurstRep } from './sqlite-full.js'
import { int, markdownTable, ms, sig } from './table.js'
import { log, median } from './workload.js'

const GOAL = 0.8
const SCENARIO = 'append on SQLite synchronous=FULL, sends awaited concurrently'

const rate = (rep: BurstRep) => (rep.messages / rep.wall) * 1000
const spread = (values: readonly number[], f: (n: number) => string) =>
  `${f(median(values))} (${f(Math.min(...values))}–${f(Math.max(...values))})`

export const sqliteFullPart: Part = {
  name: 'append-sqlite',
  async run({ smoke }) {
    const messages = smoke ? 100 : 2_000
    const reps = smoke ? 1 : 3
    const tidings: BurstRep[] = []
    const raw: BurstRep[] = []
    // Interleaved, each rep in a fresh process, so both see the same disk and the same load.
    for (let r = 0; r < reps; r++) {
      const ours = await inChild<BurstRep>({ kind: 'burst', engine: 'tidings', messages, perTransaction: 0 })
      tidings.push(ours)
      const perTransaction = ours.messages / ours.groups
      raw.push(await inChild<BurstRep>({ kind: 'burst', engine: 'raw', messages, perTransaction }))
      log(`  rep ${r + 1}: Tidings ${int(rate(ours))} msgs/s, raw ${int(rate(raw.at(-1)!))} msgs/s`)
    }
    const ours = median(tidings.map(rate))
    const theirs = median(raw.map(rate))
    const perTransaction = median(tidings.map((t) => t.messages / t.groups))
    const rows = [
      row({
        scenario: SCENARIO,
        metric: `msgs/s for a burst of ${int(messages)}, Tidings ÷ raw better-sqlite3 at the same batching`,
        unit: 'msgs/s',
        value: ours,
        peers: { 'raw better-sqlite3, synchronous=FULL': theirs },
        ratio: ours / theirs,
        goal: `≥ ${GOAL}× raw better-sqlite3 at synchronous=FULL, same rows per transaction`,
        bound: { atLeast: GOAL },
      }),
      row({
        scenario: SCENARIO,
        metric: 'sends per transaction (group commit), measured',
        unit: 'rows/transaction',
        value: perTransaction,
      }),
    ]
    const line = (name: string, list: readonly BurstRep[]) => [
      name,
      `${list.length}`,
      spread(list.map(rate), int),
      spread(
        list.map((r) => r.wall),
        (n) => ms(n),
      ),
      spread(
        list.map((r) => (r.cpu / r.messages) * 1000),
        sig,
      ),
      spread(
        list.map((r) => r.messages / r.groups),
        sig,
      ),
    ]
    const table = markdownTable(
      ['engine', 'reps', 'msgs/s (min–max)', 'burst wall', 'CPU µs/msg', 'messages per transaction'],
      [line('Tidings convo.send, sqliteStorage durability full', tidings), line('raw better-sqlite3', raw)],
    )
    return {
      title: `1c. A burst of ${int(messages)} durable sends on SQLite (synchronous=FULL)`,
      body: [
        table,
        '',
        verdicts(rows),
        '',
        `How: each rep runs in a fresh process on a new SQLite file in the temp folder; Tidings and raw
better-sqlite3 alternate rep by rep. Tidings: \`sqliteStorage({ path, durability: 'full' })\` (WAL,
synchronous=FULL, exclusive locking), a client with one period, 50 sends to warm up, then
${int(messages)} \`convo.send({ text })\` issued in one go without awaiting each, then
\`Promise.all\` of them; the burst is timed from the first call to the last resolution. The storage
is wrapped to count \`write()\` calls and the turns of the event loop they were issued in: the
adapter's group commit puts the writes of one turn in one transaction, so messages ÷ turns is the
batching it got. Raw: the same pragmas, one table \`messages (id TEXT PRIMARY KEY, record TEXT)\`,
one INSERT of the message's JSON record per message, in transactions of that same number of rows
(rounded), committed back to back. Both fsync each commit.`,
      ].join('\n'),
      rows,
    }
  },
}
