import { inChild } from './child.js'
import { type Part, row, verdicts } from './rows.js'
import type { StallRep } from './stall.js'
import { int, markdownTable, seconds, sig } from './table.js'
import { log, median } from './workload.js'

const FRAME_MS = 16
const SCENARIO = 'longest event-loop block during 1M appends, compaction included'

const spread = (values: readonly number[]) =>
  `${sig(median(values))} (${sig(Math.min(...values))}–${sig(Math.max(...values))})`

export const stallPart: Part = {
  name: 'stall',
  async run({ smoke }) {
    const messages = smoke ? 2_000 : 1_000_000
    const reps = smoke ? 1 : 3
    const results: Record<'tidings' | 'yjs', StallRep[]> = { tidings: [], yjs: [] }
    for (let r = 0; r < reps; r++) {
      for (const engine of ['tidings', 'yjs'] as const) {
        const rep = await inChild<StallRep>({ kind: 'stall', engine, messages })
        results[engine].push(rep)
        log(
          `  ${engine} rep ${r + 1}: longest block ${sig(rep.maxBlock)} ms, p99 ${sig(rep.p99)} ms, ` +
            `slowest send ${sig(rep.maxLatency)} ms at #${int(rep.slowestAt)}, ${seconds(rep.wall)}`,
        )
      }
    }
    const worst = (list: readonly StallRep[], pick: (r: StallRep) => number) => Math.max(...list.map(pick))
    const peers = {
      'Yjs Y.Map set by id, same loop': worst(results.yjs, (r) => r.maxBlock),
    }
    const rows = [
      row({
        scenario: SCENARIO,
        metric: `longest event-loop block (worst of ${reps} reps)`,
        unit: 'ms',
        value: worst(results.tidings, (r) => r.maxBlock),
        peers,
        goal: `≤ ${FRAME_MS} ms (one frame)`,
        bound: { atMost: FRAME_MS },
      }),
      row({
        scenario: SCENARIO,
        metric: 'p99 send latency (median of reps)',
        unit: 'ms',
        value: median(results.tidings.map((r) => r.p99)),
        peers: { 'Yjs Y.Map set by id, same loop': median(results.yjs.map((r) => r.p99)) },
      }),
    ]
    const line = (name: string, list: readonly StallRep[]) => [
      name,
      `${list.length}`,
      spread(list.map((r) => r.maxBlock)),
      spread(list.map((r) => r.maxTurn)),
      spread(list.map((r) => r.p50)),
      spread(list.map((r) => r.p99)),
      list.map((r, k) => `${sig(r.maxLatency)} ms at #${int(r.slowestAt)} (${k + 1})`).join(', '),
      spread(list.map((r) => r.wall / 1000)),
    ]
    return {
      title: `1d. Event-loop blocks while ${int(messages)} messages are sent one per macrotask`,
      body: [
        markdownTable(
          [
            'engine',
            'reps',
            'longest block, ms (min–max)',
            'longest gap between sends, ms',
            'send p50, ms',
            'send p99, ms',
            'slowest send (rep)',
            'run, s',
          ],
          [
            line('Tidings convo.send, memoryStorage', results.tidings),
            line('Yjs Y.Map set by id', results.yjs),
          ],
        ),
        '',
        verdicts(rows),
        '',
        `How: each rep runs in a fresh process. The app loop starts every send in its own macrotask (it
awaits a setImmediate before each \`convo.send({ text })\`, then awaits the send), so timers and the
client's background work (its compaction steps, started from a timer) run between sends, as they
would between an app's events. "Longest block" is the maximum of Node's
\`monitorEventLoopDelay({ resolution: 1 })\` over the whole run and 100 ms after it: how late a 1 ms
timer fired, i.e. the longest stretch the loop could not turn, whatever held it (a send, a
compaction step, garbage collection). "Longest gap between sends" is the longest time from one send's
resolution to the start of the next (what ran in between). Send latency is from calling \`send\` to
its resolution. Tidings writes into one lane doc (one period) on \`memoryStorage\`, compaction on;
raw Yjs runs \`transact(map.set(id, record))\` in the same loop and keeps each update, for the floor
that the runtime (GC of a growing heap) sets.`,
      ].join('\n'),
      rows,
    }
  },
}
